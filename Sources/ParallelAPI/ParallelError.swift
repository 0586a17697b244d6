public import HTTPClient

/// Everything a Parallel call can fail with. `description` is safe to log: it never holds the API key or request data.
public enum ParallelError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Non-2xx answer. `message` comes from the canonical body, the FastAPI `detail[]` shape, or the raw text.
    case api(status: Int, refID: String?, message: String, retryable: Bool)
    /// libcurl failed (resolve, connect, timeout, stall, reset...).
    case transport(HTTPClientError)
    /// A 2xx body (or an SSE payload) did not have the documented shape.
    case decoding(String)
    /// A create may or may not have reached Parallel (timeout or 5xx after sending): reconcile, never retry blindly.
    indirect case createUncertain(ParallelError)
    /// `/result` waited its `timeout` and the run is still active (HTTP 408).
    case stillActive
    /// `/result` answered 404: the run failed or does not exist. GET the run to tell which.
    case notFoundOrFailed(refID: String?, message: String)
    /// The request could not be built (bad base URL, unencodable body).
    case invalidRequest(String)
    /// A run's event stream kept ending without a terminal state (`RunEventFollower` gave up); poll instead.
    case streamExhausted(connections: Int)

    /// Whether trying the same call again later is sensible (§1.4: 408, 409, 429, 5xx and transport failures).
    public var isRetryable: Bool {
        switch self {
        case .api(_, _, _, let retryable): return retryable
        case .transport, .stillActive, .streamExhausted: return true
        case .createUncertain, .decoding, .notFoundOrFailed, .invalidRequest: return false
        }
    }

    /// The HTTP status, when the failure is an HTTP answer.
    public var status: Int? {
        switch self {
        case .api(let status, _, _, _): return status
        case .stillActive: return 408
        case .notFoundOrFailed: return 404
        case .createUncertain(let inner): return inner.status
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .api(let status, let refID, let message, _):
            return "Parallel API error \(status)\(refID.map { " (ref \($0))" } ?? ""): \(message)"
        case .transport(let error):
            return "Parallel transport error: \(error.kind) (curl \(error.code) in \(error.call))"
        case .decoding(let what):
            return "Parallel response could not be decoded: \(what)"
        case .createUncertain(let inner):
            return "Parallel run creation uncertain, reconcile before retrying: \(inner.description)"
        case .stillActive:
            return "Parallel run still active (result timed out)"
        case .notFoundOrFailed(let refID, let message):
            return "Parallel run failed or not found\(refID.map { " (ref \($0))" } ?? ""): \(message)"
        case .invalidRequest(let what):
            return "Parallel request could not be built: \(what)"
        case .streamExhausted(let connections):
            return "Parallel event stream ended \(connections) times without a terminal state"
        }
    }

    public var debugDescription: String {
        switch self {
        case .transport(let error):
            return "\(description) requestNotSent=\(error.requestNotSent)"
        case .createUncertain(let inner):
            return "createUncertain(\(inner.debugDescription))"
        default:
            return description
        }
    }
}

/// The `{ref_id, message, detail}` object Parallel puts in error bodies, failed runs and `error` events.
public struct UpstreamError: Sendable, Hashable, Codable {
    /// Correlation id to quote to Parallel support (a UUID); missing in some documented samples.
    public var refID: String?
    /// Human-readable reason.
    public var message: String
    /// Extra structured detail, usually null.
    public var detail: JSONValue?

    /// Creates an error object.
    public init(refID: String?, message: String, detail: JSONValue? = nil) {
        self.refID = refID
        self.message = message
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case refID = "ref_id", message, detail, details
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        refID = try? container.decodeIfPresent(String.self, forKey: .refID)
        message = (try? container.decodeIfPresent(String.self, forKey: .message)) ?? ""
        // The older webhook sample says `details`; accept either.
        detail = (try? container.decodeIfPresent(JSONValue.self, forKey: .detail))
            ?? (try? container.decodeIfPresent(JSONValue.self, forKey: .details))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(refID, forKey: .refID)
        try container.encode(message, forKey: .message)
        try container.encodeIfPresent(detail, forKey: .detail)
    }
}
