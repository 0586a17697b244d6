import Foundation
import HTTPClient
public import Logging

/// Where and how to reach Resend. `description` never shows the API key.
public struct ResendConfiguration: Sendable, CustomStringConvertible {
    /// `https://api.resend.com`, or the simulator.
    public var baseURL: String
    /// Sent as `Authorization: Bearer`.
    public var apiKey: String
    /// Total timeout of one send, seconds.
    public var timeout: Double
    /// Connect timeout, seconds.
    public var connectTimeout: Double
    /// Immediate retries of retryable failures inside `send` (same Idempotency-Key); 0 leaves retries to the outbox.
    public var maxRetries: Int
    /// Longest `retry-after` waited inside `send`; longer ones are returned to the caller.
    public var maxRetryDelay: Double

    /// Creates a configuration.
    public init(baseURL: String = "https://api.resend.com", apiKey: String, timeout: Double = 30,
                connectTimeout: Double = 10, maxRetries: Int = 0, maxRetryDelay: Double = 10) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxRetries = maxRetries
        self.maxRetryDelay = maxRetryDelay
    }

    public var description: String { "ResendConfiguration(baseURL: \(baseURL), apiKey: [redacted])" }
}

/// Sends e-mail through Resend. One per thread: it owns a libcurl handle.
public final class ResendClient {
    /// The configuration in use.
    public let configuration: ResendConfiguration
    private let http: HTTPClient
    private let logger: Logger
    /// Waits between retries; replaced in tests.
    var sleep: (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }

    /// Creates a client and its libcurl handle.
    public init(configuration: ResendConfiguration, logger: Logger = Logger(label: "marketlens.resend"))
        throws(ResendError)
    {
        self.configuration = configuration
        self.logger = logger
        do {
            http = try HTTPClient()
        } catch {
            throw .transport(error)
        }
    }

    /// `POST /emails`; returns Resend's message id. Always pass an idempotency key (≤ 256 chars, for example
    /// `report-ready/<report_id>`) so a retry after a lost answer cannot send twice.
    public func send(_ message: EmailMessage, idempotencyKey: String? = nil) throws(ResendError) -> String {
        let response = try post("/emails", body: try Self.encode(message), idempotencyKey: idempotencyKey)
        return try Self.messageID(response)
    }

    /// `POST /emails/batch`: up to 100 messages in one request, counted once against the rate limit. The
    /// `Idempotency-Key` covers the whole batch: a retry after a lost answer must send the same messages in the
    /// same order under the same key, and Resend then answers as the first time without sending again.
    /// Sent `x-batch-validation: permissive`, so one invalid message is refused alone (`errors`) and the others
    /// are sent; attachments and `scheduled_at` are not supported in a batch.
    public func sendBatch(_ messages: [EmailMessage], idempotencyKey: String? = nil) throws(ResendError) -> BatchResult {
        guard (1...Self.batchLimit).contains(messages.count) else {
            throw .invalidRequest("a batch holds 1 to \(Self.batchLimit) messages, not \(messages.count)")
        }
        let response = try post("/emails/batch", body: try Self.encode(messages), idempotencyKey: idempotencyKey,
                                extraHeaders: [("x-batch-validation", "permissive")])
        return try BatchResult(decoding: response.body, count: messages.count)
    }

    /// The most messages Resend takes in one `POST /emails/batch`.
    public static let batchLimit = 100

    /// Sorted keys: the same message must give the same bytes, or a retry under the same Idempotency-Key is
    /// refused as "a different payload" (409 invalid_idempotent_request).
    private static func encode(_ value: some Encodable) throws(ResendError) -> [UInt8] {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Array(try encoder.encode(value))
        } catch {
            throw .invalidRequest("message could not be encoded")
        }
    }

    /// POSTs `body` to `path`, retrying retryable failures up to `maxRetries` times under the same key; returns
    /// the 2xx answer.
    private func post(_ path: String, body: [UInt8], idempotencyKey: String?,
                      extraHeaders: [(name: String, value: String)] = []) throws(ResendError) -> HTTPResponse {
        var url = configuration.baseURL
        while url.hasSuffix("/") { url.removeLast() }
        var headers: [(name: String, value: String)] = [
            ("Authorization", "Bearer \(configuration.apiKey)"), ("Content-Type", "application/json"),
            ("Accept", "application/json"), ("User-Agent", "marketlens-resend/1"),
        ] + extraHeaders
        if let idempotencyKey { headers.append(("Idempotency-Key", String(idempotencyKey.prefix(256)))) }
        let request = HTTPRequest(method: "POST", url: url + path, headers: headers, body: body,
                                  timeout: configuration.timeout, connectTimeout: configuration.connectTimeout)
        var attempt = 0
        while true {
            let error: ResendError
            do {
                let response = try http.send(request)
                if (200..<300).contains(response.status) { return response }
                error = apiError(response)
            } catch let failure as HTTPClientError {
                error = .transport(failure)
            } catch {
                throw .invalidRequest("unexpected failure")
            }
            // A retry without an idempotency key could send the message twice.
            guard attempt < configuration.maxRetries, idempotencyKey != nil, error.isRetryable else { throw error }
            var delay = min(0.5 * Double(1 << min(attempt, 5)), 8)
            if case .api(_, _, _, _, let retryAfter?) = error {
                guard retryAfter <= configuration.maxRetryDelay else { throw error }
                delay = retryAfter
            }
            logger.warning("Resend send will be retried", metadata: ["error": "\(error)", "delay_s": "\(delay)"])
            sleep(delay)
            attempt += 1
        }
    }

    private static func messageID(_ response: HTTPResponse) throws(ResendError) -> String {
        struct Answer: Decodable { var id: String }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)), !answer.id.isEmpty else {
            throw .decoding("answer has no id")
        }
        return answer.id
    }

    /// Reads `{statusCode, message, name}` (or keeps a short, cleaned raw body) without leaking key or addresses.
    func apiError(_ response: HTTPResponse) -> ResendError {
        struct Body: Decodable {
            var message: String?
            var name: String?
        }
        let status = response.status
        var name: String?
        var message: String
        if let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)), body.message != nil || body.name != nil {
            name = body.name
            message = body.message ?? ""
        } else {
            let words = String(decoding: response.body.prefix(4096), as: UTF8.self)
                .replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
                .split(whereSeparator: { $0.isWhitespace })
            message = words.isEmpty ? "HTTP \(status) with an empty body" : String(words.joined(separator: " ").prefix(300))
        }
        message = Redaction.redact(message, secret: configuration.apiKey)
        let retryAfter = response.header("retry-after").flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let error = ResendError.api(status: status, name: name, message: message,
                                    retryable: ResendError.isRetryable(status: status, name: name),
                                    retryAfter: retryAfter)
        logger.debug("Resend API error", metadata: ["status": "\(status)", "name": "\(name ?? "-")"])
        return error
    }
}
