import Foundation

/// Resend as it answers today (resend.com/docs/api-reference: rate limit, errors, usage limits): 5 requests per
/// second per team by default, `ratelimit-*` headers on every answer, the e-mails used today and this month in
/// `x-resend-daily-quota` / `x-resend-monthly-quota`, and a 429 `rate_limit_exceeded` with `retry-after` past
/// the limit. An unknown key on the sending endpoint is `401 validation_error` "API key is invalid" (the
/// errors page's current wording; `--resend-invalid-key legacy` gives the older `403 invalid_api_key`).
/// `POST /emails` sends one e-mail, `POST /emails/batch` up to 100 in one request.
extension Simulator {
    /// The rate-limit and quota headers, `remaining` requests left in this second.
    func resendLimitHeaders(remaining: Int) -> [(String, String)] {
        let now = Date()
        let (day, month) = locked { () -> (Int, Int) in
            let calendar = Calendar(identifier: .gregorian)
            var utc = calendar
            utc.timeZone = TimeZone(identifier: "UTC") ?? .current
            return (resendSent.filter { utc.isDate($0, inSameDayAs: now) }.count,
                    resendSent.filter { utc.isDate($0, equalTo: now, toGranularity: .month) }.count)
        }
        let limit = max(config.resendRateLimit, 1)
        return [("ratelimit-limit", String(limit)), ("ratelimit-remaining", String(max(0, remaining))),
                ("ratelimit-reset", "1"), ("x-resend-daily-quota", String(day)), ("x-resend-monthly-quota", String(month))]
    }

    var resendTooManyRequests: JSON {
        resendError(429, "rate_limit_exceeded",
                    "Too many requests. You can only make \(max(config.resendRateLimit, 1)) requests per second. See rate limit response headers for more information. Or contact support to increase rate limit.")
    }

    /// Counts this request in the one-second window: the requests left in it, and whether this one is over.
    private func resendOverLimit() -> (remaining: Int, over: Bool) {
        let now = Date()
        return locked {
            resendRecent = resendRecent.filter { now.timeIntervalSince($0) < 1 }
            resendRecent.append(now)
            let limit = config.resendRateLimit
            return (limit - resendRecent.count, limit > 0 && resendRecent.count > limit)
        }
    }

    /// What `/emails` and `/emails/batch` check first, in Resend's order: the one-second window (every request
    /// counts once, a batch included), the key, the limit, then a queued fault. Nil when an answer was written.
    private func resendAdmit(_ req: HTTPRequest, _ conn: Connection) -> (remaining: Int, faults: [FaultSpec])? {
        let (remaining, over) = resendOverLimit()
        let rl = resendLimitHeaders(remaining: remaining)
        guard let auth = req.header("authorization"), auth.lowercased().hasPrefix("bearer "),
              !auth.dropFirst(7).trimmingCharacters(in: .whitespaces).isEmpty else {
            try? conn.respondJSON(401, resendError(401, "missing_api_key", "Missing API key in the authorization header. Include the following header in the request: Authorization: Bearer YOUR_API_KEY"), headers: rl)
            return nil
        }
        guard auth.dropFirst(7).trimmingCharacters(in: .whitespaces) == config.resendAPIKey else {
            switch config.resendInvalidKey {
            case .current: try? conn.respondJSON(401, resendError(401, "validation_error", "API key is invalid"), headers: rl)
            case .legacy: try? conn.respondJSON(403, resendError(403, "invalid_api_key", "API key is invalid"), headers: rl)
            }
            return nil
        }
        if over {
            try? conn.respondJSON(429, resendTooManyRequests, headers: rl + [("retry-after", "1")])
            return nil
        }
        let faults = takeFaults(req, endpoint: "resend")
        if applyResponseFault(faults, conn: conn, resend: true) { return nil }
        if let key = req.header("idempotency-key"), key.isEmpty || key.count > 256 {
            try? conn.respondJSON(400, resendError(400, "invalid_idempotency_key", "The key must be between 1-256 chars."), headers: rl)
            return nil
        }
        return (remaining, faults)
    }

    /// Why Resend would refuse this one e-mail (status, name, message), or nil when it is valid. `inBatch` adds
    /// what `/emails/batch` does not support (attachments, `scheduled_at`).
    private func resendInvalid(_ body: JSON, inBatch: Bool) -> (Int, String, String)? {
        guard body.objectValue != nil else {
            return (422, "validation_error", inBatch ? "Each email in the batch must be an object." : "The request body is not valid JSON.")
        }
        let hasTemplate = body["template"]?.objectValue != nil
        for field in ["from", "to", "subject"] where body[field] == nil || body[field]?.isNull == true {
            if hasTemplate && field != "to" { continue }
            return (422, "missing_required_field", "The `\(field)` field is missing.")
        }
        let to = body["to"].flatMap { $0.arrayValue ?? ($0.stringValue.map { [JSON.string($0)] }) } ?? []
        if to.isEmpty || to.count > 50 || to.contains(where: { !($0.stringValue ?? "").contains("@") }) {
            return (422, "validation_error", "Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format, with 1 to 50 recipients.")
        }
        if let from = body["from"]?.stringValue, !from.contains("@") {
            return (422, "validation_error", "Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.")
        }
        if body["html"] == nil && body["text"] == nil && !hasTemplate {
            return (422, "validation_error", "Either `html`, `text` or `template` must be provided.")
        }
        if inBatch, body["attachments"].map({ !$0.isNull }) ?? false {
            return (422, "validation_error", "The `attachments` field is not supported for batch emails.")
        }
        if inBatch, body["scheduled_at"].map({ !$0.isNull }) ?? false {
            return (422, "validation_error", "The `scheduled_at` field is not supported for batch emails.")
        }
        return nil
    }

    /// Records one accepted e-mail in the outbox (under the lock); `batch` is its place in a batch request.
    private func resendAccept(_ email: JSON, key: String?, batch: (index: Int, size: Int)? = nil) -> String {
        let id = IDs.uuid()
        resendSent.append(Date())
        var entry: [(String, JSON)] = [("id", .string(id)), ("created_at", .string(Timestamp.format(Date()))),
                                       ("idempotency_key", .str(key))]
        if let batch { entry.append(("batch", .object([("index", .num(batch.index)), ("size", .num(batch.size))]))) }
        entry.append(("email", email))
        outbox.append(.object(entry))
        return id
    }

    /// The `lost_answer` fault: the e-mails were accepted, and the answer is lost (`mode=5xx` answers 500,
    /// `timeout` stalls `seconds` before answering, `close` drops the connection). True when it wrote the end.
    private func resendLoseAnswer(_ faults: [FaultSpec], _ conn: Connection) -> Bool {
        guard let fault = faults.first(where: { $0.name == "lost_answer" }) else { return false }
        switch fault.string("mode", "5xx") {
        case "timeout":
            Thread.sleep(forTimeInterval: fault.double("seconds", 60))
            return false
        case "close":
            conn.close()
        default:
            try? conn.respondJSON(fault.int("status", 500), resendError(fault.int("status", 500), "internal_server_error", "An unexpected error occurred."))
        }
        return true
    }

    func resendSend(_ req: HTTPRequest, _ conn: Connection) {
        guard let (remaining, faults) = resendAdmit(req, conn) else { return }
        let rl = resendLimitHeaders(remaining: remaining)
        guard let body = req.json, body.objectValue != nil else {
            try? conn.respondJSON(422, resendError(422, "validation_error", "The request body is not valid JSON."), headers: rl)
            return
        }
        if let (status, name, message) = resendInvalid(body, inBatch: false) {
            try? conn.respondJSON(status, resendError(status, name, message), headers: rl)
            return
        }
        let key = req.header("idempotency-key")
        let bodyHash = sha256Hex(body.compact)
        enum Outcome { case fresh(String), replay(String), conflict }
        let outcome: Outcome = locked {
            if let key, let prior = idempotency[key] {
                return prior.bodyHash == bodyHash ? .replay(prior.id) : .conflict
            }
            let id = resendAccept(body, key: key)
            if let key { idempotency[key] = (bodyHash, id) }
            return .fresh(id)
        }
        // The quota headers count this e-mail once it is accepted.
        let counted = resendLimitHeaders(remaining: remaining)
        switch outcome {
        case let .fresh(id):
            simLog("resend: accepted email \(id)")
            if resendLoseAnswer(faults, conn) { return }
            try? conn.respondJSON(200, .object([("id", .string(id))]), headers: counted)
        case let .replay(id):
            try? conn.respondJSON(200, .object([("id", .string(id))]), headers: counted)
        case .conflict:
            try? conn.respondJSON(409, resendError(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload. Change your idempotency key or payload."), headers: rl)
        }
    }

    /// `POST /emails/batch` (resend.com/docs/api-reference/emails/send-batch-emails): a JSON array of 1 to 100
    /// e-mails, one request against the rate limit, one `Idempotency-Key` for the whole batch, answer
    /// `{"data":[{"id"},…]}` in the order sent. `x-batch-validation: strict` (the default) refuses the whole batch
    /// with the first invalid e-mail's error; `permissive` accepts the valid ones and lists the others in
    /// `errors: [{index, message}]`. Attachments and `scheduled_at` are refused in a batch.
    func resendBatch(_ req: HTTPRequest, _ conn: Connection) {
        guard let (remaining, faults) = resendAdmit(req, conn) else { return }
        let rl = resendLimitHeaders(remaining: remaining)
        let mode = (req.header("x-batch-validation") ?? "strict").lowercased()
        guard mode == "strict" || mode == "permissive" else {
            try? conn.respondJSON(422, resendError(422, "validation_error", "Invalid `x-batch-validation` header. Use `strict` or `permissive`."), headers: rl)
            return
        }
        guard let body = req.json, let emails = body.arrayValue else {
            try? conn.respondJSON(422, resendError(422, "validation_error", "The request body must be an array of emails."), headers: rl)
            return
        }
        guard (1...100).contains(emails.count) else {
            try? conn.respondJSON(422, resendError(422, "validation_error", "A batch must contain between 1 and 100 emails; this one has \(emails.count)."), headers: rl)
            return
        }
        let problems = emails.enumerated().compactMap { index, email in resendInvalid(email, inBatch: true).map { (index, $0) } }
        if mode == "strict", let (_, (status, name, message)) = problems.first {
            try? conn.respondJSON(status, resendError(status, name, message), headers: rl)
            return
        }
        let key = req.header("idempotency-key")
        let bodyHash = sha256Hex(mode + "\n" + body.compact)
        let invalid = Dictionary(problems.map { ($0.0, $0.1.2) }, uniquingKeysWith: { first, _ in first })
        enum Outcome { case fresh(JSON), replay(JSON), conflict }
        let outcome: Outcome = locked {
            if let key, let prior = batchIdempotency[key] {
                return prior.bodyHash == bodyHash ? .replay(prior.answer) : .conflict
            }
            var data: [JSON] = []
            for (index, email) in emails.enumerated() where invalid[index] == nil {
                data.append(.object([("id", .string(resendAccept(email, key: key, batch: (index, emails.count))))]))
            }
            var answer: [(String, JSON)] = [("data", .array(data))]
            if mode == "permissive" {
                answer.append(("errors", .array(invalid.keys.sorted().map {
                    .object([("index", .num($0)), ("message", .string(invalid[$0] ?? ""))])
                })))
            }
            if let key { batchIdempotency[key] = (bodyHash, .object(answer)) }
            return .fresh(.object(answer))
        }
        let counted = resendLimitHeaders(remaining: remaining)
        switch outcome {
        case let .fresh(answer):
            simLog("resend: accepted batch of \(answer["data"]?.arrayValue?.count ?? 0) email(s)")
            if resendLoseAnswer(faults, conn) { return }
            try? conn.respondJSON(200, answer, headers: counted)
        case let .replay(answer):
            try? conn.respondJSON(200, answer, headers: counted)
        case .conflict:
            try? conn.respondJSON(409, resendError(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload. Change your idempotency key or payload."), headers: rl)
        }
    }
}
