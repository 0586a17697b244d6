import Foundation
import Web

/// One upstream call the task console may make through the relay. Anything that is not one of these is refused:
/// the relay is not an open proxy to Parallel, whatever key the browser holds.
enum ConsoleEndpoint: Equatable, Sendable {
    case createRun
    case run(String)
    case input(String)
    case result(String)
    case events(String)

    /// The HTTP method sent upstream.
    var method: String { self == .createRun ? "POST" : "GET" }

    /// The path on the Parallel API (GA paths; the beta header is sent too, see `ConsoleRelayPolicy.betas`).
    var upstreamPath: String {
        switch self {
        case .createRun: "/v1/tasks/runs"
        case .run(let id): "/v1/tasks/runs/\(id)"
        case .input(let id): "/v1/tasks/runs/\(id)/input"
        case .result(let id): "/v1/tasks/runs/\(id)/result"
        case .events(let id): "/v1/tasks/runs/\(id)/events"
        }
    }
}

/// The console relay's rules: the allow-list of method and path, the key header, same-origin checks and the
/// validation of a run's create body. Pure functions, so every rule is unit-tested without a network.
enum ConsoleRelayPolicy {
    /// The header carrying the user's own Parallel key from the browser.
    static let keyHeader = "X-Parallel-Key"
    /// The custom header every console call must carry (a cross-site page cannot set it without a preflight,
    /// which the relay never grants).
    static let csrfHeader = "X-Requested-With"
    /// The value of `csrfHeader`.
    static let csrfValue = "marketlens-console"
    /// The largest create body accepted (Parallel limits task spec + input to 25,000 characters).
    static let maxCreateBody = 256 * 1024
    /// Metadata limits of Parallel: key length and string value length.
    static let maxMetadataKey = 16
    static let maxMetadataValue = 512
    /// Top-level fields of a create body the console may send.
    static let createFields: Set<String> = [
        "input", "processor", "task_spec", "enable_events", "metadata", "source_policy", "webhook",
    ]

    /// The endpoint for `method` and the path below `/console/api`, or nil when it is not allowed.
    static func endpoint(method: String, path: String) -> ConsoleEndpoint? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0].isEmpty, parts[1] == "v1", parts[2] == "tasks", parts[3] == "runs" else {
            return nil
        }
        switch (method.uppercased(), parts.count) {
        case ("POST", 4):
            return .createRun
        case ("GET", 5) where isValidRunID(parts[4]):
            return .run(parts[4])
        case ("GET", 6) where isValidRunID(parts[4]):
            switch parts[5] {
            case "input": return .input(parts[4])
            case "result": return .result(parts[4])
            case "events": return .events(parts[4])
            default: return nil
            }
        default:
            return nil
        }
    }

    /// `trun_` followed by 1–64 ASCII letters or digits.
    static func isValidRunID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard bytes.count > 5, bytes.count <= 69, id.hasPrefix("trun_") else { return false }
        return bytes.dropFirst(5).allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// The user's key from `X-Parallel-Key`: 8–512 printable ASCII characters without spaces (anything else
    /// could not be a key and might split a header).
    static func key(from request: Request) throws(HTTPError) -> String {
        guard let key = request.headers[keyHeader], !key.isEmpty else {
            throw HTTPError(status: 401, code: "key_missing", message: "Connect Parallel or paste your API key first.")
        }
        let bytes = Array(key.utf8)
        guard (8...512).contains(bytes.count), bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPError(status: 400, code: "key_invalid", message: "The API key has an invalid format.")
        }
        return key
    }

    /// Refuses requests that did not come from the console page of this site: the custom header must be
    /// present, and when the browser says where the request came from (`Sec-Fetch-Site`, `Origin`) it must be
    /// this origin.
    static func checkSameOrigin(_ request: Request) throws(HTTPError) {
        guard request.headers[csrfHeader] == csrfValue else {
            throw HTTPError.forbidden("Console calls must come from the console page.", code: "csrf_failed")
        }
        if let site = request.headers["Sec-Fetch-Site"], site != "same-origin" {
            throw HTTPError.forbidden("Cross-site console calls are refused.", code: "csrf_failed")
        }
        if let origin = request.headers["Origin"] {
            let host = request.headers["Host"] ?? ""
            guard !host.isEmpty, origin.lowercased() == "\(request.scheme)://\(host)".lowercased() else {
                throw HTTPError.forbidden("Cross-origin console calls are refused.", code: "csrf_failed")
            }
        }
    }

    /// Checks a create body and returns the `parallel-beta` values it needs. 413 above the limit, 400 when not
    /// a JSON object, 422 naming the field for anything Parallel would reject or we refuse to relay.
    static func validateCreateBody(_ body: [UInt8]) throws(HTTPError) -> [String] {
        guard body.count <= maxCreateBody else { throw HTTPError.payloadTooLarge() }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body)), let object = parsed as? [String: Any]
        else {
            throw HTTPError.badRequest("The request body must be a JSON object.", code: "invalid_json")
        }
        var fields: [String: String] = [:]
        for name in object.keys where !createFields.contains(name) { fields[name] = "is not a field the console sends" }
        switch object["input"] {
        case let text as String where !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty: break
        case let json as [String: Any] where !json.isEmpty: break
        default: fields["input"] = "must be non-empty text or a JSON object"
        }
        if let processor = object["processor"] as? String, ConsoleProcessor.isKnown(processor) {
        } else {
            fields["processor"] = "must be one of the listed processors"
        }
        if let spec = object["task_spec"], !(spec is [String: Any]) { fields["task_spec"] = "must be an object" }
        if let events = object["enable_events"], !(events is Bool) { fields["enable_events"] = "must be true or false" }
        if let metadata = object["metadata"] { validateMetadata(metadata, into: &fields) }
        if let policy = object["source_policy"] { validateSourcePolicy(policy, into: &fields) }
        var betas = ["events-sse-2025-07-24"]
        if let webhook = object["webhook"] {
            betas.append("webhook-2025-08-12")
            guard let hook = webhook as? [String: Any], let url = hook["url"] as? String, isHTTPURL(url) else {
                fields["webhook.url"] = "must be an http(s) URL"
                throw HTTPError.unprocessable(fields: fields)
            }
        }
        guard fields.isEmpty else { throw HTTPError.unprocessable(fields: fields) }
        return betas
    }

    private static func validateMetadata(_ value: Any, into fields: inout [String: String]) {
        guard let metadata = value as? [String: Any] else {
            fields["metadata"] = "must be an object"
            return
        }
        for (key, value) in metadata {
            if key.isEmpty || key.count > maxMetadataKey {
                fields["metadata"] = "keys must be 1–\(maxMetadataKey) characters"
            } else if let text = value as? String {
                if text.count > maxMetadataValue { fields["metadata"] = "values must be at most \(maxMetadataValue) characters" }
            } else if !(value is NSNumber) {
                fields["metadata"] = "values must be text, numbers or true/false"
            }
        }
    }

    private static func validateSourcePolicy(_ value: Any, into fields: inout [String: String]) {
        guard let policy = value as? [String: Any] else {
            fields["source_policy"] = "must be an object"
            return
        }
        for name in ["include_domains", "exclude_domains"] {
            guard let list = policy[name] else { continue }
            guard let domains = list as? [String], domains.count <= 200,
                domains.allSatisfy({ !$0.isEmpty && $0.count <= 253 && !$0.contains(where: \.isWhitespace) })
            else {
                fields["source_policy.\(name)"] = "must be a list of domain names"
                continue
            }
        }
    }

    /// An absolute `http` or `https` URL with a host.
    static func isHTTPURL(_ text: String) -> Bool {
        guard text.count <= 2048, let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    /// The `timeout` sent to `/result`: the browser's value clamped to 1–30 s, so a request thread is never held
    /// long (the event stream delivers the output of a finished run anyway).
    static func resultTimeout(query: String) -> Int {
        let value = (try? URLEncodedForm(parsing: query))?["timeout"].flatMap { Int($0) } ?? 5
        return min(max(value, 1), 30)
    }
}
