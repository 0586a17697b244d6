public import Foundation

/// The type OID PostgreSQL should assume for a bind parameter (`0` lets the server infer it).
public struct PostgresTypeOID: RawRepresentable, Sendable, Hashable {
    /// The numeric OID from `pg_type`.
    public var rawValue: UInt32
    /// Wraps an OID.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Let the server infer the type from context.
    public static let unknown = Self(rawValue: 0)
    /// `boolean`
    public static let bool = Self(rawValue: 16)
    /// `bytea`
    public static let bytea = Self(rawValue: 17)
    /// `bigint`
    public static let int8 = Self(rawValue: 20)
    /// `integer`
    public static let int4 = Self(rawValue: 23)
    /// `text`
    public static let text = Self(rawValue: 25)
    /// `double precision`
    public static let float8 = Self(rawValue: 701)
    /// `timestamptz`
    public static let timestamptz = Self(rawValue: 1184)
    /// `uuid`
    public static let uuid = Self(rawValue: 2950)
    /// `jsonb`
    public static let jsonb = Self(rawValue: 3802)
    /// `text[]`
    public static let textArray = Self(rawValue: 1009)
    /// `bigint[]`
    public static let int8Array = Self(rawValue: 1016)
}

/// A Swift value that can be sent as a bind parameter in PostgreSQL's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter type announced to the server.
    static var postgresType: PostgresTypeOID { get }
    /// The value in PostgreSQL's text input format.
    var postgresText: String { get }
}

/// A Swift value that can be read from a column in PostgreSQL's text output format.
public protocol PostgresDecodable {
    /// Parses a non-NULL value; `nil` when the text is not a valid value of this type.
    init?(postgresText: String)
    /// The value standing for SQL NULL, or `nil` when NULL is not acceptable (the default).
    static var postgresNull: Self? { get }
}

extension PostgresDecodable {
    /// NULL is an error unless the type says otherwise (as `Optional` does).
    public static var postgresNull: Self? { nil }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// Parses the wrapped value.
    public init?(postgresText: String) {
        guard let value = Wrapped(postgresText: postgresText) else { return nil }
        self = .some(value)
    }

    /// NULL decodes as `nil`.
    public static var postgresNull: Self? { .some(.none) }
}

extension String: PostgresEncodable, PostgresDecodable {
    /// `text`
    public static var postgresType: PostgresTypeOID { .text }
    /// The string itself.
    public var postgresText: String { self }
    /// Any text is a string.
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresEncodable, PostgresDecodable {
    /// `bigint`
    public static var postgresType: PostgresTypeOID { .int8 }
    /// Decimal digits.
    public var postgresText: String { String(self) }
    /// Parses `smallint`, `integer` or `bigint` text.
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    /// `bigint`
    public static var postgresType: PostgresTypeOID { .int8 }
    /// Decimal digits.
    public var postgresText: String { String(self) }
    /// Parses `smallint`, `integer` or `bigint` text.
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    /// `integer`
    public static var postgresType: PostgresTypeOID { .int4 }
    /// Decimal digits.
    public var postgresText: String { String(self) }
    /// Parses `smallint` or `integer` text.
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresEncodable, PostgresDecodable {
    /// `double precision`
    public static var postgresType: PostgresTypeOID { .float8 }
    /// Shortest round-tripping decimal, or PostgreSQL's spelling of the special values.
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"
    }
    /// Parses `real`, `double precision` or `numeric` text.
    public init?(postgresText: String) {
        switch postgresText {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default: self.init(postgresText)
        }
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    /// `boolean`
    public static var postgresType: PostgresTypeOID { .bool }
    /// `t` or `f`.
    public var postgresText: String { self ? "t" : "f" }
    /// Parses `t`/`f` (and the long spellings).
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension Date: PostgresEncodable, PostgresDecodable {
    /// `timestamptz`
    public static var postgresType: PostgresTypeOID { .timestamptz }
    /// ISO 8601 in UTC with microseconds, PostgreSQL's own precision.
    public var postgresText: String { PostgresTimestamp.format(self) }
    /// Parses `timestamptz`, `timestamp` (taken as UTC) or `date` in the ISO DateStyle.
    public init?(postgresText: String) {
        guard let date = PostgresTimestamp.parse(postgresText) else { return nil }
        self = date
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    /// `uuid`
    public static var postgresType: PostgresTypeOID { .uuid }
    /// The canonical hyphenated form.
    public var postgresText: String { uuidString.lowercased() }
    /// Parses the canonical form.
    public init?(postgresText: String) { self.init(uuidString: postgresText) }
}

extension Array: PostgresEncodable where Element == UInt8 {
    /// `bytea`
    public static var postgresType: PostgresTypeOID { .bytea }
    /// The hex format (`\x0a1b…`).
    public var postgresText: String { PostgresBytes.hex(self) }
}

extension Array: PostgresDecodable where Element == UInt8 {
    /// Parses the hex format of `bytea`.
    public init?(postgresText: String) {
        guard let bytes = PostgresBytes.parse(postgresText) else { return nil }
        self = bytes
    }
}

/// `bytea` text format, hex flavour (the connection sets `bytea_output = hex`).
enum PostgresBytes {
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 2 + bytes.count * 2)
        out[0] = UInt8(ascii: "\\")
        out[1] = UInt8(ascii: "x")
        for (index, byte) in bytes.enumerated() {
            out[2 + index * 2] = digits[Int(byte >> 4)]
            out[3 + index * 2] = digits[Int(byte & 0x0f)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func parse(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"),
              utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): char - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
