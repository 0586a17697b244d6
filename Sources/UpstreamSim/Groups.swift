import Foundation

extension Simulator {
    func groupStatus(_ g: Group, at now: Date) -> JSON {
        var counts: [String: Int] = [:]
        var active = false
        for id in g.runIDs {
            guard let r = runs[id] else { continue }
            let s = r.status(at: now).0
            counts[s, default: 0] += 1
            if Run.isActive(s) { active = true }
        }
        let order = ["queued", "running", "action_required", "cancelling", "completed", "failed", "cancelled"]
        return .object([
            ("num_task_runs", .num(g.runIDs.count)),
            ("task_run_status_counts", .object(order.compactMap { k in counts[k].map { (k, .num($0)) } })),
            ("is_active", .bool(active)), ("status_message", .null),
            ("modified_at", .string(Timestamp.format(g.statusModified))),
        ])
    }

    func groupJSON(_ g: Group, at now: Date) -> JSON {
        .object([("taskgroup_id", .string(g.id)), ("metadata", g.metadata), ("created_at", .string(Timestamp.format(g.created))),
                 ("status", groupStatus(g, at: now))])
    }

    /// Materializes group events up to `now` (caller holds the lock).
    func tickGroup(_ g: Group, at now: Date) {
        // Terminal runs never change again, so a fully reported group only changes when runs are added.
        if g.reported.count == g.runIDs.count, g.lastCounts?["__total"] == g.runIDs.count { return }
        for id in g.runIDs where !g.reported.contains(id) {
            guard let r = runs[id] else { continue }
            let s = r.status(at: now).0
            if !Run.isActive(s) {
                g.reported.insert(id)
                g.events.append(.object([("type", "task_run.state"), ("event_id", .string(g.nextEventID())),
                                         ("input", .null), ("run", r.json(at: now)), ("output", .null)]))
            }
        }
        var counts: [String: Int] = [:]
        for id in g.runIDs { if let r = runs[id] { counts[r.status(at: now).0, default: 0] += 1 } }
        counts["__total"] = g.runIDs.count
        if counts != g.lastCounts {
            g.lastCounts = counts
            g.statusModified = now
            g.events.append(.object([("type", "task_group_status"), ("event_id", .string(g.nextEventID())),
                                     ("status", groupStatus(g, at: now))]))
        }
    }

    func lookupGroup(_ id: String, _ conn: Connection) -> Group? {
        if let g = locked({ groups[id] }) { return g }
        try? conn.respondJSON(404, canonicalError("Task group not found"))
        return nil
    }

    func createGroup(_ req: HTTPRequest, _ conn: Connection) {
        if applyResponseFault(takeFaults(req, endpoint: "group"), conn: conn) { return }
        let body = req.json ?? .object([])
        let g = Group(id: IDs.group(), metadata: body["metadata"] ?? .null, created: Date())
        let json: JSON = locked {
            groups[g.id] = g
            tickGroup(g, at: Date())
            return groupJSON(g, at: Date())
        }
        try? conn.respondJSON(200, json)
    }

    func getGroup(_ id: String, _ req: HTTPRequest, _ conn: Connection) {
        if applyResponseFault(takeFaults(req, endpoint: "group"), conn: conn) { return }
        guard let g = lookupGroup(id, conn) else { return }
        try? conn.respondJSON(200, locked { tickGroup(g, at: Date()); return groupJSON(g, at: Date()) })
    }

    func addGroupRuns(_ id: String, _ req: HTTPRequest, _ conn: Connection) {
        let faults = takeFaults(req, endpoint: "group")
        if applyResponseFault(faults, conn: conn, create: true) { return }
        guard let g = lookupGroup(id, conn) else { return }
        guard let body = req.json, let inputs = body["inputs"]?.arrayValue else {
            validationError(conn, loc: ["body", "inputs"], msg: "Field required", type: "missing")
            return
        }
        if inputs.count > 1000 {
            validationError(conn, loc: ["body", "inputs"], msg: "List should have at most 1000 items", type: "too_long")
            return
        }
        let defaultSpec = body["default_task_spec"].flatMap { $0.isNull ? nil : $0 }
        var built: [Run] = []
        for (i, input) in inputs.enumerated() {
            do {
                built.append(try buildRun(input, groupID: g.id, defaultSpec: defaultSpec, betas: req.header("parallel-beta") ?? "",
                                          loc: ["body", "inputs", .num(i)]))
            } catch { reject(error, conn); return }
        }
        let json: JSON = locked {
            let eventCursor: JSON = g.runIDs.isEmpty ? .null : .string(String(g.eventSeq))
            let runCursor: JSON = g.runIDs.isEmpty ? .null : .string(String(g.runIDs.count))
            for r in built {
                runs[r.id] = r; runOrder.append(r.id); g.runIDs.append(r.id)
                if r.webhookURL != nil { pendingWebhooks.append(r.id) }
            }
            tickGroup(g, at: Date())
            cond.broadcast()
            return .object([("run_ids", .array(built.map { .string($0.id) })), ("status", groupStatus(g, at: Date())),
                            ("event_cursor", eventCursor), ("run_cursor", runCursor)])
        }
        simLog("group \(g.id): added \(built.count) runs")
        try? conn.respondJSON(200, json)
    }

    func groupEvents(_ id: String, _ req: HTTPRequest, _ conn: Connection) {
        let faults = takeFaults(req, endpoint: "group_events")
        if applyResponseFault(faults, conn: conn) { return }
        guard let g = lookupGroup(id, conn) else { return }
        var next = req.queryValue("last_event_id").flatMap { Int($0) } ?? 0
        let start = Date()
        var deadline = start.addingTimeInterval(config.real(3600))
        if let t = req.queryValue("timeout").flatMap({ Double($0) }) { deadline = min(deadline, start.addingTimeInterval(config.real(t))) }
        if let e = faults.first(where: { $0.name == "early_close_570" }) {
            deadline = min(deadline, start.addingTimeInterval(config.real(e.double("after", 10))))
        }
        let w = SSEWriter(conn: conn, faults: faults)
        do {
            try w.start()
            while true {
                let (evs, active): ([JSON], Bool) = locked {
                    tickGroup(g, at: Date())
                    let evs = g.events.filter { ($0["event_id"]?.stringValue.flatMap { Int($0) } ?? 0) > next }
                    return (evs, groupStatus(g, at: Date())["is_active"] == .bool(true))
                }
                for e in evs {
                    guard try w.emit(e) else { return }
                    next = e["event_id"]?.stringValue.flatMap { Int($0) } ?? next
                }
                if !active || Date() >= deadline { w.finish(); return }
                if conn.peerClosed { conn.close(); return }
                locked { _ = cond.wait(until: min(deadline, Date().addingTimeInterval(0.05))) }
            }
        } catch { conn.close() }
    }

    func groupRuns(_ id: String, _ req: HTTPRequest, _ conn: Connection) {
        if applyResponseFault(takeFaults(req, endpoint: "group_events"), conn: conn) { return }
        guard let g = lookupGroup(id, conn) else { return }
        let includeInput = req.queryValue("include_input") == "true"
        let includeOutput = req.queryValue("include_output") == "true"
        let status = req.queryValue("status")
        let after = req.queryValue("last_event_id").flatMap { Int($0) } ?? 0
        let events: [JSON] = locked {
            let now = Date()
            return g.runIDs.enumerated().compactMap { i, rid in
                guard i + 1 > after, let r = runs[rid] else { return nil }
                let st = r.status(at: now).0
                if let status, !status.isEmpty, st != status { return nil }
                return .object([("type", "task_run.state"), ("event_id", .string(String(i + 1))),
                                ("input", includeInput ? r.input : .null), ("run", r.json(at: now)),
                                ("output", includeOutput && st == "completed" ? r.output : .null)])
            }
        }
        let w = SSEWriter(conn: conn, faults: [])
        do {
            try w.start()
            for e in events { guard try w.emit(e) else { return } }
            w.finish()
        } catch { conn.close() }
    }
}
