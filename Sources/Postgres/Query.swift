import Foundation

/// One bind parameter: its announced type and its text (`nil` is SQL NULL).
public struct PostgresBind: Sendable, Equatable {
    /// The type announced to the server.
    public var type: PostgresTypeOID
    /// The value in text format, or `nil` for NULL.
    public var text: String?

    /// Creates a bind parameter.
    public init(type: PostgresTypeOID, text: String?) {
        self.type = type
        self.text = text
    }
}

/// A SQL statement whose interpolated values become `$n` bind parameters, so data never becomes SQL.
///
/// ```swift
/// let rows = try connection.query("SELECT id FROM reports WHERE slug = \(slug) AND hidden = \(false)")
/// ```
/// Only `\(unescaped:)` (alias `\(raw:)`) splices text into the SQL itself: use it for trusted fragments.
///
/// Parameters are typed: `Int` is `bigint`, `Double` is `double precision`, `String` is `text`, `Date` is
/// `timestamptz`, `PostgresJSON` is `jsonb`. Where a function wants `integer`, pass an `Int32` or cast
/// (`substr(name, \(n)::int)`).
/// `\(identifier:)` quotes a name safely, and `\(otherQuery)` embeds a fragment with its own binds.
public struct Query: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Part: Sendable {
        case sql(String)
        case bind(Int)
    }

    var parts: [Part]
    /// The bind parameters in `$1`, `$2`, … order.
    public private(set) var binds: [PostgresBind]

    /// A statement with no parameters.
    public init(stringLiteral value: String) {
        parts = [.sql(value)]
        binds = []
    }

    /// A statement built by interpolation.
    public init(stringInterpolation: StringInterpolation) {
        parts = stringInterpolation.parts
        binds = stringInterpolation.binds
    }

    /// Trusted SQL text used as is (no parameters).
    public init(unescaped sql: String) {
        self.init(stringLiteral: sql)
    }

    /// The SQL text with `$n` placeholders (never the values: safe to log).
    public var sql: String {
        var text = ""
        for part in parts {
            switch part {
            case .sql(let fragment): text += fragment
            case .bind(let index): text += "$\(index + 1)"
            }
        }
        return text
    }

    /// The SQL text with placeholders.
    public var description: String { sql }

    /// Appends another fragment, renumbering its parameters after this query's.
    public mutating func append(_ other: Query) {
        let offset = binds.count
        for part in other.parts {
            switch part {
            case .sql(let fragment): parts.append(.sql(fragment))
            case .bind(let index): parts.append(.bind(index + offset))
            }
        }
        binds += other.binds
    }

    /// Concatenates two fragments.
    public static func + (lhs: Query, rhs: Query) -> Query {
        var result = lhs
        result.append(rhs)
        return result
    }

    /// Joins fragments with a trusted separator, such as `" AND "`.
    public static func joined(_ queries: [Query], separator: String) -> Query {
        var result = Query(stringLiteral: "")
        for (index, query) in queries.enumerated() {
            if index > 0 { result.append(Query(unescaped: separator)) }
            result.append(query)
        }
        return result
    }

    /// Collects literal SQL and parameters while a query literal is built.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var parts: [Part] = []
        var binds: [PostgresBind] = []

        /// Reserves nothing; the parts are few.
        public init(literalCapacity: Int, interpolationCount: Int) {}

        /// SQL text written in the literal.
        public mutating func appendLiteral(_ literal: String) {
            parts.append(.sql(literal))
        }

        /// A value, sent as a bind parameter.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T) {
            bind(PostgresBind(type: T.postgresType, text: value.postgresText))
        }

        /// An optional value: `nil` is sent as NULL, typed so `$n IS NULL` works.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T?) {
            bind(PostgresBind(type: T.postgresType, text: value?.postgresText))
        }

        /// A list of strings, sent as one `text[]` parameter (use with `= ANY(…)`).
        public mutating func appendInterpolation(_ values: [String]) {
            bind(PostgresBind(type: .textArray, text: PostgresArrayText.encode(values, quoted: true)))
        }

        /// A list of strings with gaps, sent as one `text[]` parameter whose `nil` elements are NULL (cast it to the
        /// array type wanted: `::float8[]`, `::jsonb[]`, `::boolean[]`).
        public mutating func appendInterpolation(_ values: [String?]) {
            bind(PostgresBind(type: .textArray, text: PostgresArrayText.encode(values)))
        }

        /// A list of integers, sent as one `bigint[]` parameter.
        public mutating func appendInterpolation(_ values: [Int]) {
            bind(PostgresBind(type: .int8Array, text: PostgresArrayText.encode(values.map(String.init), quoted: false)))
        }

        /// A list of integers, sent as one `bigint[]` parameter.
        public mutating func appendInterpolation(_ values: [Int64]) {
            bind(PostgresBind(type: .int8Array, text: PostgresArrayText.encode(values.map(String.init), quoted: false)))
        }

        /// Trusted SQL spliced into the statement as is. Never pass user input.
        public mutating func appendInterpolation(unescaped sql: String) {
            parts.append(.sql(sql))
        }

        /// Same as `unescaped:`: trusted SQL spliced as is.
        public mutating func appendInterpolation(raw sql: String) {
            parts.append(.sql(sql))
        }

        /// A name (schema, table, column, channel) double-quoted so it can never end the identifier.
        public mutating func appendInterpolation(identifier name: String) {
            parts.append(.sql(PostgresIdentifier.quote(name)))
        }

        /// Another query fragment with its own parameters.
        public mutating func appendInterpolation(_ fragment: Query) {
            let offset = binds.count
            for part in fragment.parts {
                switch part {
                case .sql(let text): parts.append(.sql(text))
                case .bind(let index): parts.append(.bind(index + offset))
                }
            }
            binds += fragment.binds
        }

        private mutating func bind(_ value: PostgresBind) {
            parts.append(.bind(binds.count))
            binds.append(value)
        }
    }
}

/// Identifier quoting, as `quote_ident` does it.
public enum PostgresIdentifier {
    /// Wraps a name in double quotes, doubling any quote inside it.
    public static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// One-dimensional array literals in text format (`{"a","b"}`).
enum PostgresArrayText {
    /// Quoted elements, `nil` as an unquoted NULL.
    static func encode(_ elements: [String?]) -> String {
        "{" + elements.map { $0.map { encode([$0], quoted: true).dropFirst().dropLast() }.map(String.init) ?? "NULL" }
            .joined(separator: ",") + "}"
    }

    static func encode(_ elements: [String], quoted: Bool) -> String {
        guard quoted else { return "{" + elements.joined(separator: ",") + "}" }
        let items = elements.map { element -> String in
            var escaped = "\""
            for char in element.unicodeScalars {
                if char == "\"" || char == "\\" { escaped.unicodeScalars.append("\\") }
                escaped.unicodeScalars.append(char)
            }
            return escaped + "\""
        }
        return "{" + items.joined(separator: ",") + "}"
    }

    /// Parses a one-dimensional array; NULL elements become `nil`.
    static func decode(_ text: String) -> [String?]? {
        let scalars = Array(text.unicodeScalars)
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        var elements: [String?] = []
        var index = 1
        let end = scalars.count - 1
        if index == end { return [] }
        while index <= end {
            var element = ""
            var wasQuoted = false
            if scalars[index] == "\"" {
                wasQuoted = true
                index += 1
                while index < end, scalars[index] != "\"" {
                    if scalars[index] == "\\" { index += 1 }
                    guard index < end else { return nil }
                    element.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard index < end else { return nil }
                index += 1
            } else {
                while index < end, scalars[index] != "," {
                    guard scalars[index] != "{" else { return nil }
                    element.unicodeScalars.append(scalars[index])
                    index += 1
                }
            }
            elements.append(!wasQuoted && element == "NULL" ? nil : element)
            guard index == end || scalars[index] == "," else { return nil }
            index += 1
        }
        return elements
    }
}
