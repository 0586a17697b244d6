import Foundation
import HTTPClient
public import Logging

/// Typed client for Parallel's Task, Events, Groups and Chat APIs. One per thread: it owns a libcurl handle.
public final class ParallelClient {
    /// The configuration in use.
    public let configuration: ParallelConfiguration
    let http: HTTPClient
    let logger: Logger
    /// Waits between retries; replaced in tests to keep them fast.
    var sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }

    /// Creates a client and its libcurl handle (call `HTTPClient.globalInitialize()` once in `main` first).
    public init(configuration: ParallelConfiguration, logger: Logger = Logger(label: "marketlens.parallel"))
        throws(ParallelError)
    {
        self.configuration = configuration
        self.logger = logger
        do {
            http = try HTTPClient()
        } catch {
            throw .transport(error)
        }
    }

    /// How the call authenticates.
    enum Auth {
        case apiKey, bearer
    }

    /// Builds a request to `path` (already percent-encoded) with the common headers.
    func request(_ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8] = [],
                 auth: Auth = .apiKey, accept: String = "application/json", betas: [String] = [],
                 timeout: Double, idleTimeout: Double? = nil) -> HTTPRequest {
        var url = configuration.baseURL
        while url.hasSuffix("/") { url.removeLast() }
        url += path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        }
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("Accept", accept), ("User-Agent", configuration.userAgent),
        ]
        switch auth {
        case .apiKey: headers.append(("x-api-key", configuration.apiKey))
        case .bearer: headers.append(("Authorization", "Bearer \(configuration.apiKey)"))
        }
        var uniqueBetas: [String] = []
        for beta in betas where !uniqueBetas.contains(beta) { uniqueBetas.append(beta) }
        if !uniqueBetas.isEmpty { headers.append(("parallel-beta", uniqueBetas.joined(separator: ","))) }
        return HTTPRequest(method: method, url: url, headers: headers, body: body, timeout: timeout,
                           connectTimeout: configuration.connectTimeout, idleTimeout: idleTimeout)
    }

    /// Percent-encodes an id or query value so it cannot change the URL's structure.
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// Sends with the retry policy for `kind`; returns only 2xx responses.
    func perform(_ request: HTTPRequest, kind: RetryPolicy.CallKind, maxRetries: Int? = nil)
        throws(ParallelError) -> HTTPResponse
    {
        let policy = configuration.retryPolicy
        let retries = maxRetries ?? policy.maxRetries
        var attempt = 0
        while true {
            do {
                let response = try http.send(request)
                if (200..<300).contains(response.status) { return response }
                let headerSaysRetry = response.header("x-should-retry")
                let error = apiError(status: response.status, body: response.body, head: response.head)
                guard attempt < retries, policy.shouldRetry(status: response.status, shouldRetryHeader: headerSaysRetry,
                                                            kind: kind)
                else { throw error }
                let delay = policy.delay(retry: attempt, after: response.head)
                logger.warning("Parallel call will be retried", metadata: [
                    "method": "\(request.method)", "path": "\(Self.logPath(request.url))",
                    "status": "\(response.status)", "delay_s": "\(delay)", "attempt": "\(attempt + 1)",
                ])
                sleep(delay)
            } catch let error as HTTPClientError {
                guard attempt < retries, policy.shouldRetry(transport: error, kind: kind) else {
                    throw .transport(error)
                }
                let delay = policy.delay(retry: attempt, after: nil)
                logger.warning("Parallel transport failure will be retried", metadata: [
                    "method": "\(request.method)", "path": "\(Self.logPath(request.url))",
                    "kind": "\(error.kind)", "delay_s": "\(delay)", "attempt": "\(attempt + 1)",
                ])
                sleep(delay)
            } catch let error as ParallelError {
                throw error
            } catch {
                throw .invalidRequest("unexpected failure")
            }
            attempt += 1
        }
    }

    /// Turns a non-2xx answer into `.api`, keeping the API key out of the message.
    func apiError(status: Int, body: [UInt8], head: HTTPResponseHead?) -> ParallelError {
        let parsed = ErrorBody.parse(body, status: status)
        var retryable = RetryPolicy.isRetryableStatus(status)
        switch head?.header("x-should-retry")?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
        case "true": retryable = true
        case "false": retryable = false
        default: break
        }
        let error = ParallelError.api(status: status, refID: parsed.refID, message: redact(parsed.message),
                                      retryable: retryable)
        logger.debug("Parallel API error", metadata: [
            "status": "\(status)", "ref_id": "\(parsed.refID ?? "-")",
        ])
        return error
    }

    /// Removes the API key from text that came from outside (an error body could echo a header).
    func redact(_ text: String) -> String {
        let key = configuration.apiKey
        guard key.count >= 4 else { return text }
        return text.replacingOccurrences(of: key, with: "[redacted]")
    }

    /// The path of a URL without host or query, for log lines.
    static func logPath(_ url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[slash...] } else { return "/" }
        if let question = rest.firstIndex(of: "?") { rest = rest[..<question] }
        return String(rest)
    }

    /// Encodes a request body.
    static func jsonBody<T: Encodable>(_ value: T) throws(ParallelError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(value))
        } catch {
            throw .invalidRequest("body could not be encoded as JSON")
        }
    }

    /// Decodes a 2xx body.
    static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8], what: String) throws(ParallelError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw .decoding("\(what): \(Self.decodingSummary(error))")
        }
    }

    /// A short, value-free account of a decoding failure (the body itself is never logged).
    static func decodingSummary(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "invalid JSON" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \(pathString(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at \(pathString(context.codingPath))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "invalid JSON" : "bad value at \(pathString(context.codingPath))"
        @unknown default:
            return "invalid JSON"
        }
    }

    private static func pathString(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
