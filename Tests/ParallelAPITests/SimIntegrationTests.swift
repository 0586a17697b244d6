import Foundation
import HTTPClient
import Testing
@testable import ParallelAPI

/// The client and the follower against `upstream-sim` (time scale 0.01: one simulated second is 10 ms).
@Suite("ParallelAPI against upstream-sim", .enabled(if: SimProcess.available, SimProcess.skipMessage))
struct SimIntegrationTests {
    static func input(duration: Int = 20, fault: String? = nil, schema: TaskSchema = .text(description: "A report"))
        -> RunInput
    {
        var metadata: [String: JSONValue] = ["report_id": "rpt_it", "sim_duration": .integer(duration)]
        if let fault { metadata["sim_fault"] = .string(fault) }
        return RunInput(input: .text("Industry: cold-chain logistics\nRegion: EU"), processor: "lite",
                        taskSpec: TaskSpec(outputSchema: schema), metadata: metadata, enableEvents: true)
    }

    static let fastPolicy = RunFollowPolicy(idleTimeout: 10, reconnectInitialDelay: 0.05, reconnectMaxDelay: 0.5,
                                            maxConsecutiveFailures: 6, healthyConnectionDuration: 0.5, resultTimeout: 30)

    /// Follows a run and checks every delivered message is unique.
    static func follow(_ client: ParallelClient, runID: String, policy: RunFollowPolicy = fastPolicy)
        -> (outcome: RunFollowOutcome, events: [RunEvent], reconnects: [ReconnectReason])
    {
        var events: [RunEvent] = []
        var reconnects: [ReconnectReason] = []
        let outcome = RunEventFollower(policy: policy).follow(runID: runID, source: client) { update in
            switch update {
            case .event(let event, _): events.append(event)
            case .reconnecting(_, _, let reason): reconnects.append(reason)
            }
        }
        return (outcome, events, reconnects)
    }

    static func messages(_ events: [RunEvent]) -> [ProgressMessage] {
        events.compactMap { if case .progressMessage(let message) = $0 { return message } else { return nil } }
    }

    static func uniqueCount(_ messages: [ProgressMessage]) -> Int {
        Set(messages.map { "\($0.kind)|\($0.timestamp ?? "")|\($0.message)" }).count
    }

    @Test func createAndFollowToCompletion() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let run = try client.createRun(Self.input())
        #expect(run.status == .queued && run.isActive && run.runID.hasPrefix("trun_"))
        #expect(run.metadata?["report_id"] == "rpt_it")
        let echoed = try client.runInput(run.runID)
        #expect(echoed.input == .text("Industry: cold-chain logistics\nRegion: EU") && echoed.processor == "lite")
        let (outcome, events, _) = Self.follow(client, runID: run.runID)
        guard case .finished(let final, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(final.status == .completed)
        #expect(output?.text?.isEmpty == false)
        let messages = Self.messages(events)
        #expect(!messages.isEmpty && Self.uniqueCount(messages) == messages.count)
        #expect(try client.retrieveRun(run.runID).status == .completed)
    }

    @Test func resultAnswers408ThenTheOutput() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let run = try client.createRun(Self.input(fault: "result_slow;times=1",
                                                  schema: .json(["type": "object", "properties": ["hq": ["type": "string"]]])))
        #expect(throws: ParallelError.self) { try client.result(runID: run.runID, timeout: 1) }
        let result = try client.result(runID: run.runID, timeout: 60)
        #expect(result.run.status == .completed && result.output.json?["hq"]?.stringValue != nil)
        #expect(try sim.requests(path: "/v1/tasks/runs/\(run.runID)/result").count == 2)
    }

    @Test func groupEventsResumeAfterTheLastEventID() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let group = try client.createGroup(metadata: ["batch": "it"])
        #expect(group.taskgroupID.hasPrefix("tgrp_") && group.metadata?["batch"] == "it")
        let added = try client.addRuns(groupID: group.taskgroupID, inputs: (0..<3).map { _ in Self.input(duration: 30) })
        #expect(added.runIDs.count == 3 && added.status.numTaskRuns == 3)

        var firstPass: [RunEvent] = []
        _ = try client.groupEvents(groupID: group.taskgroupID, timeout: 60) { event in
            firstPass.append(event)
            if case .state = event { return false }  // disconnect after the first finished run
            return true
        }
        let cursor = try #require(firstPass.last?.eventID)
        var secondPass: [RunEvent] = []
        _ = try client.groupEvents(groupID: group.taskgroupID, lastEventID: cursor, timeout: 60) { event in
            secondPass.append(event)
            return true
        }
        let firstIDs = firstPass.compactMap(\.eventID)
        let secondIDs = secondPass.compactMap(\.eventID)
        #expect(Set(firstIDs).isDisjoint(with: secondIDs))
        let finishedRuns = (firstPass + secondPass).compactMap { event -> String? in
            if case .state(let state) = event { return state.run.runID }
            return nil
        }
        #expect(Set(finishedRuns) == Set(added.runIDs) && finishedRuns.count == 3)
        #expect(try client.groupStatus(group.taskgroupID).status.isActive == false)

        var outputs = 0
        _ = try client.groupRuns(groupID: group.taskgroupID, includeOutput: true) { event in
            if case .state(let state) = event, state.output != nil { outputs += 1 }
            return true
        }
        #expect(outputs == 3)
    }

    @Test func chatValidatesAGoodAndABadInput() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let schema: JSONValue = [
            "type": "object", "additionalProperties": false,
            "properties": ["is_valid": ["type": "boolean"], "reasoning": ["type": "string"],
                           "issues_found": ["type": "array", "items": ["type": "string"]]],
            "required": ["is_valid", "reasoning", "issues_found"],
        ]
        func verdict(_ industry: String) throws -> JSONValue {
            try client.chatCompletion(ChatCompletionRequest(model: "speed", messages: [
                ChatMessage(role: "system", content: "You validate inputs for a market-research site."),
                ChatMessage(role: "user", content: "Industry: \(industry)\nGeography: EU\nDetails: "),
            ], responseFormat: .jsonSchema(name: "validation", schema: schema))).contentJSON()
        }
        let good = try verdict("cold-chain logistics")
        #expect(good["is_valid"] == true)
        let bad = try verdict("asdf")
        #expect(bad["is_valid"] == false && bad["issues_found"]?.arrayValue?.isEmpty == false)
    }

    @Test func create429IsRetriedAndMakesExactlyOneRun() throws {
        let sim = try SimProcess()
        try sim.fault("create", "429;retry_after=1")
        let run = try sim.client().createRun(Self.input())
        #expect(run.runID.hasPrefix("trun_"))
        let posts = try sim.requests(path: "/v1/tasks/runs").filter { $0.method == "POST" && $0.path == "/v1/tasks/runs" }
        #expect(posts.count == 2)
        #expect(try sim.control("GET", "/health")["runs"]?.doubleValue == 1)
    }

    @Test func create500IsUncertainAndNotRetried() throws {
        let sim = try SimProcess()
        try sim.fault("create", "500")
        #expect {
            try sim.client().createRun(Self.input())
        } throws: { error in
            guard case .createUncertain(.api(500, _, _, _)) = error as? ParallelError else { return false }
            return true
        }
        #expect(try sim.requests(path: "/v1/tasks/runs").filter { $0.method == "POST" }.count == 1)
    }

    @Test func droppedAndEarlyClosedStreamsAreFollowedWithoutDuplicates() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        try sim.fault("events", "stream_drop;after=4", count: 2)
        let dropped = try client.createRun(Self.input(duration: 200))
        let first = Self.follow(client, runID: dropped.runID)
        guard case .finished(_, let output) = first.outcome else { Issue.record("\(first.outcome)"); return }
        #expect(output?.text != nil)
        #expect(first.reconnects.count >= 2)
        let firstMessages = Self.messages(first.events)
        #expect(!firstMessages.isEmpty && Self.uniqueCount(firstMessages) == firstMessages.count)

        let capped = try client.createRun(Self.input(duration: 300, fault: "early_close_570;after=60"))
        let second = Self.follow(client, runID: capped.runID)
        guard case .finished(let run, let cappedOutput) = second.outcome else { Issue.record("\(second.outcome)"); return }
        #expect(run.status == .completed && cappedOutput?.text != nil)
        #expect(second.reconnects.count >= 2 && second.reconnects.allSatisfy { $0 == .closedWithoutTerminal })
        let messages = Self.messages(second.events)
        #expect(messages.count >= 10 && Self.uniqueCount(messages) == messages.count)
    }

    @Test func stalledStreamIsDetected() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        try sim.fault("events", "stream_stall;after=2;seconds=5")
        let run = try client.createRun(Self.input(duration: 150))
        var policy = Self.fastPolicy
        policy.idleTimeout = 1
        let (outcome, _, reconnects) = Self.follow(client, runID: run.runID, policy: policy)
        #expect(reconnects.first == .stalled)
        guard case .finished(let final, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(final.status == .completed && output != nil)
    }

    @Test func malformedEventsAreSkipped() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let run = try client.createRun(Self.input(duration: 100, fault: "malformed_event;variant=all"))
        let (outcome, events, _) = Self.follow(client, runID: run.runID)
        guard case .finished(let final, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(final.status == .completed && output != nil)
        let kinds = Set(Self.messages(events).map(\.kind))
        #expect(kinds.contains("tool") || kinds.contains("reasoning"))
    }

    @Test func failedRunIsTyped() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let run = try client.createRun(Self.input(fault: "run_failed"))
        let (outcome, _, _) = Self.follow(client, runID: run.runID)
        guard case .finished(let final, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(final.status == .failed && output == nil)
        #expect(final.error?.message.isEmpty == false)
        #expect {
            try client.result(runID: run.runID, timeout: 5)
        } throws: { error in
            guard case .notFoundOrFailed = error as? ParallelError else { return false }
            return true
        }
    }

    @Test func authFailuresAreTypedAndNotRetried() throws {
        let sim = try SimProcess()
        let wrong = try sim.client(apiKey: "not-the-key")
        #expect {
            try wrong.createRun(Self.input())
        } throws: { error in
            guard case .api(401, _, _, false) = error as? ParallelError else { return false }
            return !"\(error)".contains("not-the-key")
        }
        try sim.fault("create", "auth")
        #expect {
            try sim.client().createRun(Self.input())
        } throws: { error in
            guard case .api(402, _, _, false) = error as? ParallelError else { return false }
            return true
        }
        #expect(try sim.requests(path: "/v1/tasks/runs").count == 2)
    }

    @Test func htmlServerErrorIsTyped() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let run = try client.createRun(Self.input())
        try sim.fault("run", "502;body=html", count: 3)
        #expect {
            try client.retrieveRun(run.runID)
        } throws: { error in
            guard case .api(502, nil, let message, true) = error as? ParallelError else { return false }
            return !message.contains("<") && !message.isEmpty
        }
        #expect(try sim.requests(path: "/v1/tasks/runs/\(run.runID)").filter { $0.method == "GET" }.count == 3)
    }

    @Test func createTimeoutIsUncertainAndTheRunExists() throws {
        let sim = try SimProcess()
        try sim.fault("create", "create_timeout;seconds=4")
        #expect {
            try sim.client(createTimeout: 1).createRun(Self.input())
        } throws: { error in
            guard case .createUncertain(.transport(let transport)) = error as? ParallelError else { return false }
            return transport.kind == .timedOut
        }
        // Exactly one POST went out, and the run exists upstream: the caller must reconcile, not create again.
        #expect(try sim.requests(path: "/v1/tasks/runs").filter { $0.method == "POST" }.count == 1)
        #expect(try sim.control("GET", "/health")["runs"]?.doubleValue == 1)
    }

    @Test func errorEventsMidStreamAreDelivered() throws {
        let sim = try SimProcess()
        let client = try sim.client()
        let survives = try client.createRun(Self.input(duration: 60, fault: "stream_error_event;then=continue"))
        let first = Self.follow(client, runID: survives.runID)
        #expect(first.events.contains { if case .error = $0 { return true } else { return false } })
        guard case .finished(let run, _) = first.outcome else { Issue.record("\(first.outcome)"); return }
        #expect(run.status == .completed)

        let fails = try client.createRun(Self.input(duration: 60, fault: "stream_error_event;then=fail"))
        let second = Self.follow(client, runID: fails.runID)
        guard case .finished(let failed, let output) = second.outcome else { Issue.record("\(second.outcome)"); return }
        #expect(failed.status == .failed && output == nil && failed.error != nil)
    }
}
