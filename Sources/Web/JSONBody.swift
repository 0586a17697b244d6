internal import Foundation

/// Decoding request bodies and encoding response bodies with Foundation's JSON coders, turning every failure
/// into an `HTTPError` whose message names the field but never echoes internals.
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], maxBytes: Int) throws(HTTPError) -> T {
        guard body.count <= maxBytes else { throw HTTPError.payloadTooLarge() }
        guard !body.isEmpty else { throw HTTPError.badRequest("The request body is empty.", code: "invalid_json") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: Data(body))
        } catch let error as DecodingError {
            throw httpError(for: error)
        } catch let error as HTTPError {
            throw error
        } catch {
            throw HTTPError.badRequest("The request body is not valid JSON.", code: "invalid_json")
        }
    }

    static func encode(_ value: some Encodable, sortedKeys: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = sortedKeys ? [.withoutEscapingSlashes, .sortedKeys] : [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(value))
    }

    private static func httpError(for error: DecodingError) -> HTTPError {
        switch error {
        case .keyNotFound(let key, let context):
            return field(context.codingPath + [key], "is required")
        case .valueNotFound(_, let context):
            return field(context.codingPath, "must not be null")
        case .typeMismatch(let type, let context):
            return field(context.codingPath, "must be \(describe(type))")
        case .dataCorrupted(let context):
            // An empty coding path means the document itself is not JSON; otherwise a value was rejected
            // (a bad date, an unknown enum case).
            if context.codingPath.isEmpty {
                return HTTPError.badRequest("The request body is not valid JSON.", code: "invalid_json")
            }
            return field(context.codingPath, "has an invalid value")
        @unknown default:
            return HTTPError.badRequest("The request body is not valid JSON.", code: "invalid_json")
        }
    }

    private static func field(_ path: [any CodingKey], _ message: String) -> HTTPError {
        let name = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            .reduce("") { $0.isEmpty || $1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1 }
        let key = name.isEmpty ? "body" : name
        return HTTPError.unprocessable(fields: [key: message], message: "Some fields are invalid.")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        default: "of a different type"
        }
    }
}
