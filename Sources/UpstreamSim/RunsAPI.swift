import Foundation

/// Why a run input was refused.
enum RunRejection: Error {
    case validation(loc: [JSON], msg: String, type: String)
    case forbidden(String)
}

let processorDurations: [String: Double] = ["lite": 5, "base": 8, "core": 15, "core2x": 20, "pro": 30, "ultra": 45,
                                            "ultra2x": 60, "ultra4x": 75, "ultra8x": 90]

extension Simulator {
    /// Validates a RunInput and schedules the run's whole life (not yet stored).
    func buildRun(_ body: JSON, groupID: String?, defaultSpec: JSON?, betas: String, loc: [JSON],
                  extraFaults: [FaultSpec] = []) throws(RunRejection) -> Run {
        guard case .object = body else { throw .validation(loc: loc, msg: "Input should be a valid dictionary", type: "dict_type") }
        guard let input = body["input"], input.stringValue != nil || input.objectValue != nil else {
            throw .validation(loc: loc + ["input"], msg: "Field required", type: "missing")
        }
        guard let processor = body["processor"]?.stringValue else {
            throw .validation(loc: loc + ["processor"], msg: "Field required", type: "missing")
        }
        let baseName = processor.hasSuffix("-fast") ? String(processor.dropLast(5)) : processor
        guard let baseDuration = processorDurations[baseName] else { throw .forbidden(OASMessage.invalidProcessor) }
        let metadata = body["metadata"] ?? .null
        if let m = metadata.objectValue {
            for (k, v) in m {
                if k.count > 16 { throw .validation(loc: loc + ["metadata", .string(k)], msg: "Metadata keys must be at most 16 characters", type: "value_error") }
                switch v {
                case let .string(s) where s.count > 512:
                    throw .validation(loc: loc + ["metadata", .string(k)], msg: "Metadata values must be at most 512 characters", type: "value_error")
                case .string, .number, .bool: break
                default: throw .validation(loc: loc + ["metadata", .string(k)], msg: "Metadata values must be string, number or boolean", type: "value_error")
                }
            }
        } else if !metadata.isNull {
            throw .validation(loc: loc + ["metadata"], msg: "Input should be a valid dictionary", type: "dict_type")
        }
        let webhook = body["webhook"].flatMap { $0.isNull ? nil : $0 }
        if let webhook, webhook["url"]?.stringValue == nil {
            throw .validation(loc: loc + ["webhook", "url"], msg: "Field required", type: "missing")
        }
        if config.strictBeta {
            if webhook != nil, !betas.contains("webhook-2025-08-12") {
                throw .validation(loc: ["header", "parallel-beta"], msg: "webhook requires parallel-beta: webhook-2025-08-12", type: "value_error")
            }
            if body["enable_events"] == .bool(true), !betas.contains("events-sse-2025-07-24") {
                throw .validation(loc: ["header", "parallel-beta"], msg: "enable_events requires parallel-beta: events-sse-2025-07-24", type: "value_error")
            }
        }

        // Output kind from the task spec.
        let spec = body["task_spec"].flatMap { $0.isNull ? nil : $0 } ?? defaultSpec
        var kind = "auto"
        var jsonSchema: JSON = .null
        if let spec {
            let specText = spec.compact
            if specText.count > 15000 { throw .validation(loc: loc + ["task_spec"], msg: "Task spec exceeds 15000 characters", type: "value_error") }
            if specText.count + input.compact.count > 25000 {
                throw .validation(loc: loc + ["task_spec"], msg: "Task spec and input together exceed 25000 characters", type: "value_error")
            }
            let out = spec["output_schema"] ?? .null
            if out.stringValue != nil { kind = "text" } else {
                switch out["type"]?.stringValue {
                case "text": kind = "text"
                case "auto": kind = "auto"
                case nil where out.isNull: kind = "auto"
                default:
                    kind = "json"
                    jsonSchema = out["json_schema"] ?? .null
                    if let e = SchemaRules.error(jsonSchema) {
                        throw .validation(loc: loc + ["task_spec", "output_schema", "json_schema"], msg: e, type: "value_error")
                    }
                }
            }
        }
        let warnings = kind == "json" ? SchemaRules.warnings(jsonSchema) : []

        let now = Date()
        let id = IDs.run()
        let faults = FaultSpec.parseList(metadata["sim_fault"]?.stringValue) + extraFaults
        let hostile = metadata["sim_content"]?.stringValue == "hostile" || input.compact.contains("sim:hostile")
        let topic = Topic(input: input, hostile: hostile)
        var gen = ContentGenerator(seed: config.seed, key: input.compact + "|" + processor + "|" + (spec?.compact ?? ""), topic: topic)
        // Content is deterministic per request (the conformance suite holds the simulator to it); a caller's
        // `metadata.report_id` names the run's own report, so each version of a Marketlens report gets its own figures.
        gen.runVariation = metadata["report_id"]?.stringValue.map(fnv1a) ?? 0
        let perElement = betas.contains("field-basis-2025-11-25")
        let output: JSON
        switch kind {
        case "text":
            output = gen.textOutput(processor: processor, references: ReferenceForm.requested(metadata: metadata, input: input))
        case "json": output = gen.jsonOutput(schema: jsonSchema, outputSchema: .null, perElement: perElement)
        default:
            output = gen.jsonOutput(schema: ContentGenerator.autoSchema, outputSchema: ContentGenerator.autoSchema,
                                    perElement: perElement)
        }

        // Timeline in simulated seconds from creation.
        var total = baseDuration * (processor.hasSuffix("-fast") ? 0.4 : 1.0)
        if let d = metadata["sim_duration"]?.doubleValue ?? metadata["sim_duration"]?.stringValue.flatMap({ Double($0) }) { total = max(0.1, d) }
        // The same through a fault queued for `create` (`duration;seconds=N`): a test makes one run long.
        if let d = faults.first(where: { $0.name == "duration" }) { total = max(0.1, d.double("seconds", total)) }
        let queuedFor = min(gen.rng.double(0.5, 2.0), total * 0.3)
        let eventsOn = body["enable_events"]?.boolValue ?? !["lite", "base", "core", "core2x"].contains(baseName)
        // metadata sim_event_every (simulated seconds): progress messages about that far apart and stats at
        // most that often, for load tests that want many runs at a realistic event rate.
        let interval = (metadata["sim_event_every"]?.doubleValue
            ?? metadata["sim_event_every"]?.stringValue.flatMap({ Double($0) })).map { max(0.5, $0) }
        var items: [(Double, TimelineItem.Kind)] = [(queuedFor, .status("running"))]
        if eventsOn {
            var times: [Double] = []
            var t = queuedFor + 0.1
            while t < total - 0.2 {
                times.append(t)
                t += interval.map { gen.rng.double($0 * 0.5, $0 * 1.5) } ?? gen.rng.double(2, 6)
            }
            for (t, m) in zip(times, gen.progressMessages(count: max(times.count, 1))) {
                items.append((t, .progress(kind: m.0, message: m.1)))
            }
        }
        let statsEvery = max(eventsOn ? 5.0 : 10.0, interval ?? 0)
        var considered = 0
        var st = queuedFor + min(statsEvery, (total - queuedFor) / 2)
        while st < total {
            let meter = ((st - queuedFor) / (total - queuedFor) * 1000).rounded() / 10
            considered += gen.rng.int(20, 90)
            items.append((st, .stats(statsJSON(meter: meter, considered: considered, gen: gen))))
            st += statsEvery
        }
        items.append((max(queuedFor, total - 0.05), .stats(statsJSON(meter: 100, considered: considered + 40, gen: gen))))
        var error: JSON = .null
        var terminal = "completed"
        if let f = faults.first(where: { $0.name == "stream_error_event" }) {
            let mid = queuedFor + (total - queuedFor) * 0.5
            let err: JSON = .object([("type", "error"), ("error", .object([("ref_id", .string(IDs.uuid())),
                                     ("message", "Upstream fetch failed"), ("detail", .null)]))])
            items.append((mid, .error(err)))
            if f.string("then", "continue") == "fail" {
                items.removeAll { $0.0 > mid }
                total = mid + 0.01
                terminal = "failed"
            }
        }
        if faults.contains(where: { $0.name == "run_failed" }) { terminal = "failed" }
        if terminal == "failed" {
            error = .object([("ref_id", .string(IDs.uuid())), ("message", "Task execution failed"), ("detail", .null)])
        }
        items.append((total, .status(terminal)))
        items.sort { $0.0 < $1.0 }
        let timeline = items.map { TimelineItem(at: now.addingTimeInterval(config.real($0.0)), kind: $0.1) }

        var stored = body
        if stored["task_spec"] == nil, let defaultSpec { stored = stored.setting("task_spec", defaultSpec) }
        let run = Run(id: id, created: now, input: stored, processor: processor, metadata: metadata, taskgroupID: groupID,
                      warnings: warnings.isEmpty ? .null : .array(warnings), timeline: timeline, faults: faults,
                      output: output, webhookURL: webhook?["url"]?.stringValue)
        run.error = error
        return run
    }

    private func statsJSON(meter: Double, considered: Int, gen: ContentGenerator) -> JSON {
        .object([("type", "task_run.progress_stats"), ("progress_meter", .number(meter)),
                 ("source_stats", .object([("num_sources_considered", .num(considered)),
                                           ("num_sources_read", .num(considered / 8)),
                                           ("sources_read_sample", .array(gen.sampleURLs(3)))]))])
    }

    /// Keeps a new run. No broadcast: nothing waits for a run to appear (a stream or `/result` of an unknown run
    /// answers 404 at once), and a broadcast wakes every held stream: 3,000 streams woken by each of 100
    /// creations a second took the simulator to a full core in the monitor bench's ramp.
    func store(_ run: Run) {
        locked {
            runs[run.id] = run
            runOrder.append(run.id)
            if run.webhookURL != nil { pendingWebhooks.append(run.id) }
        }
    }

    func reject(_ r: RunRejection, _ conn: Connection, singleRun: Bool = false) {
        switch r {
        case let .validation(loc, msg, type): validationError(conn, loc: loc, msg: msg, type: type, singleRun: singleRun)
        case let .forbidden(msg): try? conn.respondJSON(403, canonicalError(msg))
        }
    }

    // MARK: handlers

    func createRun(_ req: HTTPRequest, _ conn: Connection) {
        let faults = takeFaults(req, endpoint: "create")
        guard let body = req.json else {
            validationError(conn, loc: ["body"], msg: "Invalid JSON body", type: "json_invalid", singleRun: true)
            return
        }
        let runFaults = FaultSpec.parseList(body["metadata"]?["sim_fault"]?.stringValue)
        if applyResponseFault(faults + runFaults, conn: conn, create: true) { return }
        let run: Run
        let carried = faults.filter { !responseFaultNames.contains($0.name) && $0.name != "create_timeout" }
        do {
            run = try buildRun(body, groupID: nil, defaultSpec: nil, betas: req.header("parallel-beta") ?? "", loc: ["body"],
                               extraFaults: carried)
        }
        catch { reject(error, conn, singleRun: true); return }
        store(run)
        // The metadata's report_id lets a soak count the runs each report created (tests/soak).
        let reportID = body["metadata"]?["report_id"]?.stringValue ?? "-"
        simLog("created run \(run.id) processor=\(run.processor) report_id=\(reportID)")
        if let f = (faults + runFaults).first(where: { $0.name == "create_timeout" }) {
            Thread.sleep(forTimeInterval: f.double("seconds", 60))
            if f.string("then", "respond") == "close" { conn.close(); return }
        }
        // The create response describes the run as created (queued), however long the reply took: with a small
        // time scale the run may already be running by now, which the real service never answers here.
        try? conn.respondJSON(202, run.json(at: run.created))
    }

    func lookupRun(_ id: String, _ conn: Connection) -> Run? {
        if let r = locked({ runs[id] }) { return r }
        try? conn.respondJSON(404, canonicalError("Run id not found"))
        return nil
    }

    func getRun(_ id: String, _ req: HTTPRequest, _ conn: Connection, group: String? = nil) {
        if applyResponseFault(takeFaults(req, endpoint: "run"), conn: conn) { return }
        guard let run = lookupRun(id, conn) else { return }
        if let group, run.taskgroupID != group { try? conn.respondJSON(404, canonicalError("Run id not found")); return }
        try? conn.respondJSON(200, locked { run.json(at: Date()) })
    }

    func getInput(_ id: String, _ req: HTTPRequest, _ conn: Connection) {
        if applyResponseFault(takeFaults(req, endpoint: "run"), conn: conn) { return }
        guard let run = lookupRun(id, conn) else { return }
        try? conn.respondJSON(200, run.input)
    }

    func getResult(_ id: String, _ req: HTTPRequest, _ conn: Connection) {
        let faults = takeFaults(req, endpoint: "result")
        if applyResponseFault(faults, conn: conn) { return }
        guard let run = lookupRun(id, conn) else { return }
        let timeoutText = req.queryValue("timeout")
        guard timeoutText.map({ Int($0) != nil }) ?? true else {
            validationError(conn, loc: ["query", "timeout"], msg: "Input should be a valid integer", type: "int_parsing",
                            singleRun: true)
            return
        }
        let timeout = timeoutText.flatMap { Double($0) } ?? 600
        let deadline = Date().addingTimeInterval(config.real(max(0, timeout)))
        var slow = faults.first { $0.name == "result_slow" }
        if slow == nil, let f = run.fault("result_slow") {
            let times = f.int("times", f.params["delay"] == nil ? 2 : 0)
            let served = locked { () -> Int in run.resultSlowServed += 1; return run.resultSlowServed }
            if served <= times || f.params["delay"] != nil { slow = f }
        }
        if let slow {
            if let d = slow.params["delay"].flatMap({ Double($0) }) {
                Thread.sleep(forTimeInterval: d)
            } else {
                Thread.sleep(forTimeInterval: max(0, deadline.timeIntervalSinceNow))
                try? conn.respondJSON(408, canonicalError("Request timed out; run still active"))
                return
            }
        }
        let status: String = locked {
            while true {
                let s = run.status(at: Date()).0
                if Run.isTerminal(s) || Date() >= deadline { return s }
                _ = cond.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
            }
        }
        switch status {
        case "completed":
            try? conn.respondJSON(200, .object([("run", locked { run.json(at: Date()) }), ("output", run.output)]))
        case "failed", "cancelled":
            try? conn.respondJSON(404, canonicalError("Run failed or run id not found"))
        default:
            try? conn.respondJSON(408, canonicalError("Request timed out; run still active"))
        }
    }
}
