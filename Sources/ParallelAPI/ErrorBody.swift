import Foundation

/// Reads the reason out of a non-2xx body, whatever shape it has (§1.4): the canonical `{"type":"error","error":{…}}`,
/// the OpenAI `{"error":{"message"}}`, FastAPI `{"detail":[{"loc","msg"}]}` or `{"detail":"…"}`, else the raw text.
enum ErrorBody {
    /// Longest message kept from a raw (non-JSON) body, so an HTML error page cannot flood a log line.
    static let rawLimit = 300

    static func parse(_ body: [UInt8], status: Int) -> (refID: String?, message: String) {
        if let json = try? JSONDecoder().decode(JSONValue.self, from: Data(body)), case .object(let root) = json {
            if let error = root["error"] {
                if case .object(let object) = error, let message = object["message"]?.stringValue {
                    return (object["ref_id"]?.stringValue, message)
                }
                if let message = error.stringValue { return (nil, message) }
            }
            if let detail = root["detail"] {
                if let items = detail.arrayValue {
                    let messages = items.compactMap(validationMessage)
                    if !messages.isEmpty { return (nil, messages.joined(separator: "; ")) }
                }
                if let message = detail.stringValue { return (nil, message) }
            }
            if let message = root["message"]?.stringValue { return (root["ref_id"]?.stringValue, message) }
        }
        return (nil, rawMessage(body, status: status))
    }

    private static func validationMessage(_ item: JSONValue) -> String? {
        guard let msg = item["msg"]?.stringValue else { return nil }
        let location = item["loc"]?.arrayValue?.map { part -> String in
            if let text = part.stringValue { return text }
            if let number = part.doubleValue { return String(Int(number)) }
            return "?"
        }
        guard let location, !location.isEmpty else { return msg }
        return "\(location.joined(separator: ".")): \(msg)"
    }

    /// Collapses whitespace and drops markup so an HTML 502 page reads as one short line.
    static func rawMessage(_ body: [UInt8], status: Int) -> String {
        var text = String(decoding: body.prefix(8192), as: UTF8.self)
        if text.contains("<") {
            var stripped = ""
            var inTag = false
            for character in text {
                if character == "<" { inTag = true; stripped.append(" "); continue }
                if character == ">" { inTag = false; continue }
                if !inTag { stripped.append(character) }
            }
            text = stripped
        }
        let words = text.split(whereSeparator: { $0.isWhitespace || $0.isNewline })
        let collapsed = words.joined(separator: " ")
        if collapsed.isEmpty { return "HTTP \(status) with an empty body" }
        if collapsed.count > rawLimit { return String(collapsed.prefix(rawLimit)) + "…" }
        return collapsed
    }
}
