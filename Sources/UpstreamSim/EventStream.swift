import Foundation

/// Writes SSE events to one connection, applying stream faults (drop, stall, malformed variants).
final class SSEWriter {
    let conn: Connection
    let faults: [FaultSpec]
    private(set) var sent = 0
    private var injected = false
    let lineEnd: String

    init(conn: Connection, faults: [FaultSpec]) {
        self.conn = conn
        self.faults = faults
        let m = faults.first { $0.name == "malformed_event" }
        let v = m?.string("variant", "all")
        lineEnd = (v == "crlf" || v == "all") ? "\r\n" : "\n"
    }

    func start() throws {
        try conn.writeHead(status: 200, headers: [("Content-Type", "text/event-stream; charset=utf-8"),
                                                  ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")],
                           contentLength: nil)
    }

    private var malformed: String? {
        faults.first { $0.name == "malformed_event" }.map { $0.string("variant", "all") }
    }

    /// Sends one event (`event:` + one `data:` line); returns false when the stream must end now.
    func emit(_ event: JSON) throws -> Bool {
        let type = event["type"]?.stringValue ?? "message"
        let data = event.compact
        let variant = malformed
        if variant == "comment" || variant == "all" { try conn.writeBody(": sim comment" + lineEnd + lineEnd) }
        if variant == "split" || variant == "all" {
            let head = "event: \(type)\(lineEnd)data: "
            let cut = data.index(data.startIndex, offsetBy: data.count / 2)
            try conn.writeBody(head + String(data[..<cut]))
            Thread.sleep(forTimeInterval: 0.05)
            try conn.writeBody(String(data[cut...]) + lineEnd + lineEnd)
        } else {
            try conn.writeBody("event: \(type)\(lineEnd)data: \(data)\(lineEnd)\(lineEnd)")
        }
        sent += 1
        if let v = variant, !injected, sent >= (faults.first { $0.name == "malformed_event" }?.int("after", 1) ?? 1) {
            injected = true
            try injectMalformed(v)
        }
        if let d = faults.first(where: { $0.name == "stream_drop" }), sent >= d.int("after", 3) {
            if d.string("mode", "close") == "rst" { conn.reset() } else { conn.close() }
            return false
        }
        if let s = faults.first(where: { $0.name == "stream_stall" }), sent == s.int("after", 2) {
            Thread.sleep(forTimeInterval: s.double("seconds", 30))
        }
        return true
    }

    private func injectMalformed(_ v: String) throws {
        let e = lineEnd
        let ts = Timestamp.format(Date())
        if v == "invalid_json" || v == "all" {
            try conn.writeBody("event: task_run.progress_msg.plan\(e)data: {\"type\":\"task_run.progress_msg.plan\",\"message\":\"trunc\(e)\(e)")
        }
        if v == "no_type" || v == "all" {
            try conn.writeBody("event: task_run.progress_msg.plan\(e)data: {\"message\":\"event without a type\",\"timestamp\":\"\(ts)\"}\(e)\(e)")
        }
        if v == "unknown_type" || v == "all" {
            try conn.writeBody("event: task_run.mystery\(e)data: {\"type\":\"task_run.mystery\",\"payload\":{\"x\":1}}\(e)\(e)")
        }
        if v == "unknown_kind" || v == "all" {
            for k in ["tool", "reasoning"] {
                try conn.writeBody("event: task_run.progress_msg.\(k)\(e)data: {\"type\":\"task_run.progress_msg.\(k)\",\"message\":\"A \(k) message\",\"timestamp\":\"\(ts)\"}\(e)\(e)")
            }
        }
    }

    func finish() {
        try? conn.finishBody()
        conn.mustClose = true
    }
}

extension Simulator {
    func stateEvent(_ run: Run, at now: Date, output: JSON = .null) -> JSON {
        .object([("type", "task_run.state"), ("event_id", .null), ("input", .null), ("run", run.json(at: now)),
                 ("output", output)])
    }

    func itemEvent(_ item: TimelineItem) -> JSON? {
        switch item.kind {
        case let .progress(kind, message):
            return .object([("type", .string("task_run.progress_msg." + kind)), ("message", .string(message)),
                            ("timestamp", .string(Timestamp.format(item.at)))])
        case let .stats(j): return j
        case let .error(j): return j
        case .status: return nil
        }
    }

    /// `GET /v1[beta]/tasks/runs/{id}/events`.
    func runEvents(_ id: String, _ req: HTTPRequest, _ conn: Connection) {
        let faults = takeFaults(req, endpoint: "events")
        if applyResponseFault(faults, conn: conn) { return }
        guard let run = lookupRun(id, conn) else { return }
        let streamFaults = faults + run.faults
        let w = SSEWriter(conn: conn, faults: streamFaults)
        let start = Date()
        var cap = start.addingTimeInterval(config.real(570))
        if let e = streamFaults.first(where: { $0.name == "early_close_570" }) {
            cap = start.addingTimeInterval(config.real(e.double("after", 10)))
        }
        do {
            try w.start()
            // Snapshot: current state, full message replay, latest stats.
            let (first, replay, terminalNow, sentUpTo): (JSON, [JSON], Bool, Date) = locked {
                let now = Date()
                let st = run.status(at: now).0
                let visible = run.timeline.filter { $0.at <= now }
                var evs: [JSON] = visible.compactMap { i in
                    if case .stats = i.kind { return nil }
                    return itemEvent(i)
                }
                if let s = visible.last(where: { if case .stats = $0.kind { return true }; return false }), let e = itemEvent(s) {
                    evs.append(e)
                }
                let out = st == "completed" ? run.output : JSON.null
                return (stateEvent(run, at: now, output: out), evs, Run.isTerminal(st), now)
            }
            guard try w.emit(first) else { return }
            for e in replay { guard try w.emit(e) else { return } }
            if terminalNow {
                guard try w.emit(locked { stateEvent(run, at: Date(), output: run.status(at: Date()).0 == "completed" ? run.output : .null) }) else { return }
                w.finish()
                return
            }
            var upTo = sentUpTo
            while true {
                let (events, done, nextAt): ([JSON], Bool, Date?) = locked {
                    let now = Date()
                    let fresh = run.timeline.filter { $0.at > upTo && $0.at <= now }
                    upTo = now
                    var evs = fresh.compactMap { itemEvent($0) }
                    let st = run.status(at: now).0
                    let terminal = Run.isTerminal(st)
                    if terminal { evs.append(stateEvent(run, at: now, output: st == "completed" ? run.output : .null)) }
                    return (evs, terminal, run.timeline.first { $0.at > now }?.at)
                }
                for e in events { guard try w.emit(e) else { return } }
                if done || Date() >= cap { w.finish(); return }
                if conn.peerClosed { conn.close(); return }
                // State changes broadcast and the next item is waited for exactly: the 1 s bound only notices a
                // client that left (thousands of held streams must not each wake ten times a second).
                locked { _ = cond.wait(until: min(cap, nextAt ?? cap, Date().addingTimeInterval(1))) }
            }
        } catch {
            conn.close()
        }
    }
}
