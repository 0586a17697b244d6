import Foundation

/// Follows local `$ref`s (`#/components/...`) of the parsed OpenAPI document.
struct APIReferenceResolver {
    let root: [String: Any]

    /// `value` itself, or what its `$ref` points at (one level at a time, at most 8 deep).
    func resolve(_ value: Any?) -> [String: Any] {
        var current = value as? [String: Any] ?? [:]
        for _ in 0..<8 {
            guard let ref = current["$ref"] as? String, ref.hasPrefix("#/") else { break }
            var node: Any? = root
            for part in ref.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(part)] }
            current = node as? [String: Any] ?? [:]
        }
        return current
    }
}

/// One operation of the document as the `/api` page shows it: what it does, what it takes, what it answers
/// (every status with its content type and error codes, every event of a stream) and a curl command.
struct APIReferenceOperation: Sendable {
    struct Parameter: Sendable { var name, location, description: String; var required: Bool }
    struct Answer: Sendable { var status, description, contentType: String; var codes: [String] }
    struct Event: Sendable { var name, description: String }

    var method: String
    var path: String
    var tag: String
    var anchor: String
    var summary: String
    var description: String
    var authentication: String
    var parameters: [Parameter]
    var requestExample: String?
    var answers: [Answer]
    var events: [Event]
    var curl: String

    init(method: String, path: String, operation: [String: Any], sharedParameters: [Any],
         resolver: APIReferenceResolver) {
        self.method = method.uppercased()
        self.path = path
        tag = (operation["tags"] as? [String])?.first ?? "Other"
        anchor = operation["operationId"] as? String ?? "\(method)-\(path)"
        summary = operation["summary"] as? String ?? ""
        description = operation["description"] as? String ?? ""
        let schemes = (operation["security"] as? [[String: Any]] ?? []).flatMap(\.keys)
        authentication = schemes.contains("manageToken")
            ? "Authorization: Bearer <manage token> (required)"
            : schemes.contains("apiKey") ? "Authorization: Bearer <API key> (optional)" : ""
        parameters = (sharedParameters + (operation["parameters"] as? [Any] ?? [])).map { raw in
            let parameter = resolver.resolve(raw)
            return Parameter(name: parameter["name"] as? String ?? "", location: parameter["in"] as? String ?? "",
                             description: parameter["description"] as? String ?? "",
                             required: parameter["required"] as? Bool ?? false)
        }
        let requestMedia = (resolver.resolve(operation["requestBody"])["content"] as? [String: Any])?["application/json"]
        let media = resolver.resolve(requestMedia)
        let example = media["example"] ?? resolver.resolve(media["schema"])["example"]
        requestExample = example.flatMap(Self.prettyJSON)
        var answers: [Answer] = []
        var events: [Event] = []
        for (status, raw) in (operation["responses"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            let response = resolver.resolve(raw)
            let content = response["content"] as? [String: Any] ?? [:]
            var codes: [String] = []
            for (type, mediaValue) in content {
                let mediaObject = resolver.resolve(mediaValue)
                if type == "text/event-stream" {
                    // One event's schema: `oneOf` the named events (`properties.event.const`).
                    events = (resolver.resolve(mediaObject["schema"])["oneOf"] as? [Any] ?? []).compactMap { raw in
                        let event = resolver.resolve(raw)
                        let name = ((event["properties"] as? [String: Any])?["event"] as? [String: Any])?["const"] as? String
                        return name.map { Event(name: $0, description: event["description"] as? String ?? "") }
                    }
                }
                codes += Self.errorCodes(mediaObject["schema"], resolver: resolver)
            }
            answers.append(Answer(status: status, description: response["description"] as? String ?? "",
                                  contentType: content.keys.sorted().joined(separator: ", "), codes: codes))
        }
        self.answers = answers
        self.events = events
        curl = ""
        curl = Self.curl(self, example: requestExample, streams: !events.isEmpty)
    }

    /// The `error.code` values an error schema allows (`allOf` of `Error` and a `code` enum).
    static func errorCodes(_ schema: Any?, resolver: APIReferenceResolver) -> [String] {
        let parts = resolver.resolve(schema)["allOf"] as? [Any] ?? []
        return parts.flatMap { part -> [String] in
            let error = ((resolver.resolve(part)["properties"] as? [String: Any])?["error"]).map(resolver.resolve)
            let code = (error?["properties"] as? [String: Any])?["code"] as? [String: Any]
            return code?["enum"] as? [String] ?? []
        }
    }

    static func prettyJSON(_ value: Any) -> String? {
        guard JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A command a reader can paste: `$MARKETLENS` for the site's address, placeholders for ids and tokens,
    /// the example body on one line.
    static func curl(_ operation: APIReferenceOperation, example: String?, streams: Bool) -> String {
        var path = operation.path
        for name in ["id"] where path.contains("{\(name)}") {
            path = path.replacingOccurrences(
                of: "{\(name)}", with: operation.path.hasPrefix("/research/") ? "bat_…" : "rpt_…")
        }
        var lines = ["curl \(streams ? "-N " : "")\(operation.method == "GET" ? "" : "-X \(operation.method) ")\"$MARKETLENS\(path)\""]
        if operation.authentication.contains("manage token") {
            lines.append("-H 'Authorization: Bearer <manage token>'")
        }
        if operation.path == "/webhooks/parallel" {
            lines.append("-H 'webhook-id: …' -H 'webhook-timestamp: …' -H 'webhook-signature: v1,…'")
        }
        if let example, operation.method != "GET" {
            let compact = example.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .joined(separator: " ").replacingOccurrences(of: "'", with: "'\\''")
            lines.append("-H 'Content-Type: application/json'")
            lines.append("-d '\(compact)'")
        }
        return lines.joined(separator: " \\\n  ")
    }
}

/// One tag of the document: a section of the page.
struct APIReferenceSection: Sendable {
    var name: String
    var description: String
    var operations: [APIReferenceOperation]
}
