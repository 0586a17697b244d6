import Foundation

/// The `/__sim/*` test-control and inspection API, served on both ports.
extension Simulator {
    func handleControl(_ req: HTTPRequest, _ conn: Connection) {
        let parts = Array(req.path.split(separator: "/").map(String.init).dropFirst())
        switch (req.method, parts.joined(separator: "/")) {
        case ("GET", "health"):
            try? conn.respondJSON(200, .object([("status", "ok"), ("time_scale", .number(config.timeScale)),
                                                ("runs", .num(locked { runs.count }))]))
        case ("GET", "requests"):
            let since = req.queryValue("since").flatMap { Int($0) } ?? 0
            let prefix = req.queryValue("path")
            let api = req.queryValue("api")
            let items = locked { requestLog }.filter { r in
                (r["seq"]?.intValue ?? 0) > since && (prefix.map { r["path"]?.stringValue?.hasPrefix($0) ?? false } ?? true)
                    && (api.map { r["api"]?.stringValue == $0 } ?? true)
            }
            try? conn.respondJSON(200, .object([("requests", .array(items)), ("last_seq", .num(locked { requestSeq }))]))
        case ("DELETE", "requests"):
            locked { requestLog = [] }
            try? conn.respondJSON(200, .object([("deleted", true)]))
        case ("GET", "outbox"):
            try? conn.respondJSON(200, .object([("emails", .array(locked { outbox }))]))
        case ("DELETE", "outbox"):
            locked { outbox = []; idempotency = [:]; batchIdempotency = [:] }
            try? conn.respondJSON(200, .object([("deleted", true)]))
        case ("GET", "webhooks"):
            try? conn.respondJSON(200, .object([("deliveries", .array(locked { webhookLog }))]))
        case ("GET", "faults"):
            try? conn.respondJSON(200, .object([("faults", .array(locked { faultQueue.map(\.json) }))]))
        case ("DELETE", "faults"):
            locked { faultQueue = [] }
            try? conn.respondJSON(200, .object([("deleted", true)]))
        case ("POST", "faults"):
            addFault(req, conn)
        case ("POST", "reset"):
            reset()
            try? conn.respondJSON(200, .object([("reset", true)]))
        case ("POST", _) where parts.count == 3 && parts[0] == "runs":
            controlRun(parts[1], parts[2], conn)
        default:
            try? conn.respondJSON(404, .object([("error", .string("unknown control endpoint \(req.method) \(req.path)"))]))
        }
    }

    private func addFault(_ req: HTTPRequest, _ conn: Connection) {
        guard let body = req.json, let fault = body["fault"]?.stringValue, var spec = FaultSpec.parse(fault) else {
            try? conn.respondJSON(400, .object([("error", "body must be {\"endpoint\":…,\"fault\":…,\"count\":n}")]))
            return
        }
        let endpoint = body["endpoint"]?.stringValue ?? "any"
        let known = ["create", "result", "events", "chat", "resend", "group_events", "group", "run", "any"]
        guard known.contains(endpoint) else {
            try? conn.respondJSON(400, .object([("error", .string("endpoint must be one of \(known.joined(separator: ", "))"))]))
            return
        }
        for (k, v) in body.objectValue ?? [] where !["fault", "endpoint", "count"].contains(k) {
            spec.params[k] = v.stringValue ?? v.compact
        }
        let q = QueuedFault(endpoint: endpoint, spec: spec, remaining: body["count"]?.intValue ?? 1)
        locked { faultQueue.append(q) }
        try? conn.respondJSON(200, q.json)
    }

    private func controlRun(_ id: String, _ action: String, _ conn: Connection) {
        guard let run = locked({ runs[id] }) else { try? conn.respondJSON(404, canonicalError("Run id not found")); return }
        let target: String
        switch action {
        case "cancel": target = "cancelled"
        case "complete": target = "completed"
        case "fail": target = "failed"
        default: try? conn.respondJSON(404, .object([("error", "unknown run action")])); return
        }
        let json: JSON = locked {
            let err: JSON = .object([("ref_id", .string(IDs.uuid())), ("message", "Task execution failed"), ("detail", .null)])
            run.finish(target, at: Date(), error: err)
            cond.broadcast()
            return run.json(at: Date().addingTimeInterval(0.001))
        }
        try? conn.respondJSON(200, json)
    }
}
