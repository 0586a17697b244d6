import Foundation

/// Resend as it answers today (resend.com/docs/api-reference: rate limit, errors, usage limits): 5 requests per
/// second per team by default, `ratelimit-*` headers on every answer, the e-mails used today and this month in
/// `x-resend-daily-quota` / `x-resend-monthly-quota`, and a 429 `rate_limit_exceeded` with `retry-after` past
/// the limit. An unknown key on the sending endpoint is `401 validation_error` "API key is invalid" (the
/// errors page's current wording; `--resend-invalid-key legacy` gives the older `403 invalid_api_key`).
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

    func resendSend(_ req: HTTPRequest, _ conn: Connection) {
        let (remaining, over) = resendOverLimit()
        let rl = resendLimitHeaders(remaining: remaining)
        guard let auth = req.header("authorization"), auth.lowercased().hasPrefix("bearer "),
              !auth.dropFirst(7).trimmingCharacters(in: .whitespaces).isEmpty else {
            try? conn.respondJSON(401, resendError(401, "missing_api_key", "Missing API key in the authorization header. Include the following header in the request: Authorization: Bearer YOUR_API_KEY"), headers: rl)
            return
        }
        guard auth.dropFirst(7).trimmingCharacters(in: .whitespaces) == config.resendAPIKey else {
            switch config.resendInvalidKey {
            case .current: try? conn.respondJSON(401, resendError(401, "validation_error", "API key is invalid"), headers: rl)
            case .legacy: try? conn.respondJSON(403, resendError(403, "invalid_api_key", "API key is invalid"), headers: rl)
            }
            return
        }
        if over {
            try? conn.respondJSON(429, resendTooManyRequests, headers: rl + [("retry-after", "1")])
            return
        }
        if applyResponseFault(takeFaults(req, endpoint: "resend"), conn: conn, resend: true) { return }
        guard let body = req.json, body.objectValue != nil else {
            try? conn.respondJSON(422, resendError(422, "validation_error", "The request body is not valid JSON."), headers: rl)
            return
        }
        let hasTemplate = body["template"]?.objectValue != nil
        for field in ["from", "to", "subject"] where body[field] == nil || body[field]?.isNull == true {
            if hasTemplate && field != "to" { continue }
            try? conn.respondJSON(422, resendError(422, "missing_required_field", "The `\(field)` field is missing."), headers: rl)
            return
        }
        let to = body["to"].flatMap { $0.arrayValue ?? ($0.stringValue.map { [JSON.string($0)] }) } ?? []
        if to.isEmpty || to.count > 50 || to.contains(where: { !($0.stringValue ?? "").contains("@") }) {
            try? conn.respondJSON(422, resendError(422, "validation_error", "Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format, with 1 to 50 recipients."), headers: rl)
            return
        }
        if let from = body["from"]?.stringValue, !from.contains("@") {
            try? conn.respondJSON(422, resendError(422, "validation_error", "Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format."), headers: rl)
            return
        }
        if body["html"] == nil && body["text"] == nil && !hasTemplate {
            try? conn.respondJSON(422, resendError(422, "validation_error", "Either `html`, `text` or `template` must be provided."), headers: rl)
            return
        }
        let key = req.header("idempotency-key")
        if let key, key.isEmpty || key.count > 256 {
            try? conn.respondJSON(400, resendError(400, "invalid_idempotency_key", "The key must be between 1-256 chars."), headers: rl)
            return
        }
        let bodyHash = sha256Hex(body.compact)
        enum Outcome { case fresh(String), replay(String), conflict }
        let outcome: Outcome = locked {
            if let key, let prior = idempotency[key] {
                return prior.bodyHash == bodyHash ? .replay(prior.id) : .conflict
            }
            let id = IDs.uuid()
            if let key { idempotency[key] = (bodyHash, id) }
            resendSent.append(Date())
            outbox.append(.object([("id", .string(id)), ("created_at", .string(Timestamp.format(Date()))),
                                   ("idempotency_key", .str(key)), ("email", body)]))
            return .fresh(id)
        }
        // The quota headers count this e-mail once it is accepted.
        let counted = resendLimitHeaders(remaining: remaining)
        switch outcome {
        case let .fresh(id):
            simLog("resend: accepted email \(id)")
            try? conn.respondJSON(200, .object([("id", .string(id))]), headers: counted)
        case let .replay(id):
            try? conn.respondJSON(200, .object([("id", .string(id))]), headers: counted)
        case .conflict:
            try? conn.respondJSON(409, resendError(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload. Change your idempotency key or payload."), headers: rl)
        }
    }
}
