import Foundation

/// Shared simulator state; every field below `cond` is guarded by it.
final class Simulator: @unchecked Sendable {
    let config: SimConfig
    /// Lock plus condition: broadcast on every state change and on every engine tick.
    let cond = NSCondition()
    var parallelBaseURL = ""

    var runs: [String: Run] = [:]
    var runOrder: [String] = []
    /// Runs with a webhook that has not fired yet.
    var pendingWebhooks: [String] = []
    var groups: [String: Group] = [:]
    var requestLog: [JSON] = []
    var requestSeq = 0
    var outbox: [JSON] = []
    var idempotency: [String: (bodyHash: String, id: String)] = [:]
    /// `/emails/batch` keys: the body's hash and the whole answer, replayed for the same body.
    var batchIdempotency: [String: (bodyHash: String, answer: JSON)] = [:]
    var webhookLog: [JSON] = []
    var faultQueue: [QueuedFault] = []
    var oauthClients: [String: [String]] = [:]
    var oauthCodes: [String: OAuthCode] = [:]
    var oauthTokens: Set<String> = []
    /// Times of recent Resend requests (the per-second rate limit) and of accepted e-mails (the quota headers).
    var resendRecent: [Date] = []
    var resendSent: [Date] = []

    init(config: SimConfig) { self.config = config }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        cond.lock()
        defer { cond.unlock() }
        return try body()
    }

    /// Wakes every waiter (streams, /result) after a state change.
    func changed() { locked { cond.broadcast() } }

    /// Forgets all runs, groups, logs, outbox, faults and OAuth state.
    func reset() {
        locked {
            runs = [:]; runOrder = []; pendingWebhooks = []; groups = [:]; requestLog = []; outbox = []; idempotency = [:]; batchIdempotency = [:]
            webhookLog = []; faultQueue = []; oauthClients = [:]; oauthCodes = [:]; oauthTokens = []
            resendRecent = []; resendSent = []
            cond.broadcast()
        }
    }

    // MARK: request log

    func logRequest(_ req: HTTPRequest, api: String) {
        let secretHeaders: Set<String> = ["x-api-key", "authorization"]
        let headers: [(String, JSON)] = req.headers.map { k, v in
            guard secretHeaders.contains(k.lowercased()) else { return (k, .string(v)) }
            if v.lowercased().hasPrefix("bearer ") { return (k, .string("Bearer " + redactSecret(String(v.dropFirst(7))))) }
            return (k, .string(redactSecret(v)))
        }
        var body: JSON = .null
        if !req.body.isEmpty { body = JSON.parse(req.body) ?? .string(String(decoding: req.body, as: UTF8.self)) }
        locked {
            requestSeq += 1
            requestLog.append(.object([
                ("seq", .num(requestSeq)), ("api", .string(api)), ("time", .string(Timestamp.format(Date()))),
                ("method", .string(req.method)), ("path", .string(req.path)),
                ("query", .object(req.query.map { ($0.0, .string($0.1)) })),
                ("headers", .object(headers)), ("body", body),
            ]))
            if requestLog.count > 10000 { requestLog.removeFirst(requestLog.count - 10000) }
        }
    }

    // MARK: error bodies

    func canonicalError(_ message: String, detail: JSON = .null) -> JSON {
        .object([("type", "error"), ("error", .object([("ref_id", .string(IDs.uuid())), ("message", .string(message)),
                                                      ("detail", detail)]))])
    }

    func resendError(_ status: Int, _ name: String, _ message: String) -> JSON {
        .object([("statusCode", .num(status)), ("message", .string(message)), ("name", .string(name))])
    }

    /// A 422 in the configured shape; `loc` is the FastAPI location of the problem. The single-run endpoints
    /// always answer the canonical `ErrorResponse` (the OpenAPI lists it for their 422), with the OpenAPI's
    /// message followed by the specific problem; group and chat endpoints list FastAPI's `HTTPValidationError`.
    func validationError(_ conn: Connection, loc: [JSON], msg: String, type: String = "value_error", singleRun: Bool = false) {
        if singleRun {
            try? conn.respondJSON(422, canonicalError(OASMessage.unprocessable + ": " + msg,
                                                      detail: .object([("loc", .array(loc)), ("type", .string(type))])))
            return
        }
        switch config.validationErrors {
        case .fastapi:
            let item: JSON = .object([("loc", .array(loc)), ("msg", .string(msg)), ("type", .string(type))])
            try? conn.respondJSON(422, .object([("detail", .array([item]))]))
        case .canonical:
            try? conn.respondJSON(422, canonicalError(msg, detail: .object([("loc", .array(loc))])))
        }
    }

    // MARK: auth

    func isValidParallelKey(_ key: String?) -> Bool {
        guard let key, !key.isEmpty else { return false }
        return key == config.apiKey || locked { oauthTokens.contains(key) }
    }

    /// Checks `x-api-key` (and Bearer when `allowBearer`); writes a 401 and returns false when it fails.
    func checkParallelAuth(_ req: HTTPRequest, _ conn: Connection, allowBearer: Bool = false) -> Bool {
        var key = req.header("x-api-key")
        if allowBearer, key == nil, let a = req.header("authorization"), a.lowercased().hasPrefix("bearer ") {
            key = String(a.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        if isValidParallelKey(key) { return true }
        if allowBearer {
            let body: JSON = .object([("error", .object([("message", "Incorrect API key provided."), ("type", "invalid_request_error"),
                                                         ("param", .null), ("code", "invalid_api_key")]))])
            try? conn.respondJSON(401, body)
        } else {
            try? conn.respondJSON(401, canonicalError(OASMessage.unauthorized))
        }
        return false
    }
}

/// Error messages as Parallel's OpenAPI description (0.1.2) words them.
enum OASMessage {
    static let unauthorized = "Unauthorized: invalid or missing credentials"
    static let paymentRequired = "Payment required: insufficient credit in account"
    static let invalidProcessor = "Forbidden: invalid processor in request"
    static let unprocessable = "Unprocessable content: request validation error"
    static let requestValidation = "Request validation error"
    static let tooManyRequests = "Too many requests: quota temporarily exceeded"
}
