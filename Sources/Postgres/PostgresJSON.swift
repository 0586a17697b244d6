public import Foundation

/// JSON text sent as a `jsonb` parameter or read from a `json`/`jsonb` column.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Sendable, Hashable {
    /// The JSON document as text.
    public var text: String

    /// Wraps JSON text the caller already has (the server validates it).
    public init(_ text: String) { self.text = text }

    /// Encodes a value with `JSONEncoder` (sorted keys, so equal values give equal text).
    public init<T: Encodable>(encoding value: T, encoder: JSONEncoder = PostgresJSON.defaultEncoder()) throws {
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes the document into a value.
    public func decode<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }

    /// The encoder `init(encoding:)` uses unless told otherwise.
    public static func defaultEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `jsonb`
    public static var postgresType: PostgresTypeOID { .jsonb }
    /// The JSON text.
    public var postgresText: String { text }
    /// Any column text (the server only returns valid JSON for JSON columns).
    public init?(postgresText: String) { self.text = postgresText }
}
