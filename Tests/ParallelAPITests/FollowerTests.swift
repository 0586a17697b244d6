import Foundation
import HTTPClient
import Testing
@testable import ParallelAPI

/// A run event source that plays scripted connections byte by byte through the real SSE decoder.
final class ScriptedSource: RunEventSource {
    enum End {
        case close
        case fail(ParallelError)
    }

    struct Connection {
        var chunks: [String]
        var end: End = .close
    }

    var connections: [Connection]
    var runs: [TaskRun]
    var resultOutput: RunOutput?
    private(set) var connectCount = 0
    private(set) var retrieveCount = 0
    private(set) var resultCount = 0
    private(set) var skipped = 0

    init(_ connections: [Connection], runs: [TaskRun] = [], resultOutput: RunOutput? = nil) {
        self.connections = connections
        self.runs = runs
        self.resultOutput = resultOutput
    }

    func runEvents(runID: String, idleTimeout: Double?, shouldStop: () -> Bool, onEvent: (RunEvent) -> Bool)
        throws(ParallelError) -> StreamEnd
    {
        let connection = connections.count > 1 ? connections.removeFirst() : connections[0]
        connectCount += 1
        var decoder = RunEventStreamDecoder()
        defer { skipped += decoder.skipped }
        for chunk in connection.chunks {
            if shouldStop() { return .stopped }
            for event in decoder.feed(Array(chunk.utf8)) where !onEvent(event) { return .stopped }
        }
        for event in decoder.finish() where !onEvent(event) { return .stopped }
        switch connection.end {
        case .close: return .closed
        case .fail(let error): throw error
        }
    }

    func retrieveRun(_ runID: String) throws(ParallelError) -> TaskRun {
        retrieveCount += 1
        return runs.count > 1 ? runs.removeFirst() : runs[0]
    }

    func result(runID: String, timeout: Int) throws(ParallelError) -> TaskRunResult {
        resultCount += 1
        guard let resultOutput else { throw .notFoundOrFailed(refID: nil, message: "no result") }
        return TaskRunResult(run: TaskRun(runID: runID, status: .completed), output: resultOutput)
    }
}

enum SSE {
    static func run(_ status: String, active: Bool, error: String = "null") -> String {
        #"{"run_id":"trun_f","interaction_id":"trun_f","status":"\#(status)","is_active":\#(active),"processor":"core","error":\#(error)}"#
    }

    static func state(_ status: String, active: Bool, output: String = "null", error: String = "null") -> String {
        let json = #"{"type":"task_run.state","event_id":null,"input":null,"run":\#(run(status, active: active, error: error)),"output":\#(output)}"#
        return "event: task_run.state\ndata: \(json)\n\n"
    }

    static func message(_ kind: String, _ text: String, _ time: String) -> String {
        let type = "task_run.progress_msg.\(kind)"
        return "event: \(type)\ndata: {\"type\":\"\(type)\",\"message\":\"\(text)\",\"timestamp\":\"\(time)\"}\n\n"
    }

    static func stats(_ meter: Double, _ considered: Int, _ read: Int) -> String {
        let json = #"{"type":"task_run.progress_stats","progress_meter":\#(meter),"source_stats":{"num_sources_considered":\#(considered),"num_sources_read":\#(read),"sources_read_sample":[]}}"#
        return "event: task_run.progress_stats\ndata: \(json)\n\n"
    }

    static let textOutput = ##"{"type":"text","content":"# Report","basis":[]}"##
}

@Suite("Run event follower")
struct FollowerTests {
    func follower(_ policy: RunFollowPolicy = RunFollowPolicy()) -> RunEventFollower {
        var follower = RunEventFollower(policy: policy)
        follower.sleep = { _ in }
        follower.random = { 1 }
        return follower
    }

    let a = SSE.message("plan", "Plan the research", "2026-01-10T09:00:01.000001Z")
    let b = SSE.message("search", "Searching trade bodies", "2026-01-10T09:00:02.000001Z")
    let c = SSE.message("exec_status", "Reading filings", "2026-01-10T09:00:03.000001Z")
    let d = SSE.message("result", "Drafting", "2026-01-10T09:00:04.000001Z")
    let running = SSE.state("running", active: true)

    @Test func replaysAcrossThreeConnectionsAreDeliveredOnce() throws {
        let source = ScriptedSource([
            .init(chunks: [running, a, b, SSE.stats(10, 50, 5)]),
            .init(chunks: [running, a, b, SSE.stats(10, 50, 5), c, SSE.stats(20, 80, 9)]),
            .init(chunks: [running, a, b, c, SSE.stats(20, 80, 9), d,
                           SSE.state("completed", active: false, output: SSE.textOutput)]),
        ], runs: [TaskRun(runID: "trun_f", status: .running)])
        var events: [RunEvent] = []
        var reconnects: [ReconnectReason] = []
        let outcome = follower().follow(runID: "trun_f", source: source) { update in
            switch update {
            case .event(let event, let origin):
                #expect(origin == .new)
                events.append(event)
            case .reconnecting(_, _, let reason):
                reconnects.append(reason)
            }
        }
        let messages = events.compactMap { event -> String? in
            if case .progressMessage(let message) = event { return message.message }
            return nil
        }
        #expect(messages == ["Plan the research", "Searching trade bodies", "Reading filings", "Drafting"])
        let meters = events.compactMap { event -> Double? in
            if case .progressStats(let stats) = event { return stats.progressMeter }
            return nil
        }
        #expect(meters == [10, 20])
        #expect(events.count == 8)
        #expect(reconnects == [.closedWithoutTerminal, .closedWithoutTerminal])
        #expect(source.connectCount == 3 && source.retrieveCount == 0 && source.resultCount == 0,
                "a healthy stream closed by the server is reopened without a GET first")
        guard case .finished(let run, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(run.status == .completed && output?.text == "# Report")
    }

    @Test func replayedEventsAreMarkedWhenAskedFor() {
        let source = ScriptedSource([
            .init(chunks: [running, a, SSE.stats(10, 5, 1)]),
            .init(chunks: [running, a, SSE.stats(10, 5, 1), b, SSE.state("failed", active: false)]),
        ], runs: [TaskRun(runID: "trun_f", status: .running)])
        var origins: [EventOrigin] = []
        _ = follower(RunFollowPolicy(deliverReplayed: true)).follow(runID: "trun_f", source: source) { update in
            if case .event(_, let origin) = update { origins.append(origin) }
        }
        #expect(origins == [.new, .new, .new, .replayed, .replayed, .replayed, .new, .new])
    }

    @Test func stallIsDetectedAndTheResultFetchedWhenTheFinalStateHasNoOutput() {
        let stalled = HTTPClientError(kind: .stalled, code: 28, call: "curl_easy_perform", requestNotSent: false)
        let source = ScriptedSource([
            .init(chunks: [running, a], end: .fail(.transport(stalled))),
            .init(chunks: [running, a, SSE.state("completed", active: false)]),
        ], runs: [TaskRun(runID: "trun_f", status: .running)],
           resultOutput: RunOutput(content: .text("# From result")))
        var reasons: [ReconnectReason] = []
        var messageCount = 0
        let outcome = follower().follow(runID: "trun_f", source: source) { update in
            if case .reconnecting(_, _, let reason) = update { reasons.append(reason) }
            if case .event(.progressMessage, _) = update { messageCount += 1 }
        }
        #expect(reasons == [.stalled])
        #expect(messageCount == 1)
        #expect(source.resultCount == 1)
        guard case .finished(_, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(output?.text == "# From result")
    }

    /// A stream that closes again without anything new (here: the run finished upstream, yet every connection
    /// replays only what was seen) is not reopened blindly: the run is checked, found completed, and its result
    /// fetched.
    @Test func streamClosedWithoutNewEventsChecksTheRun() {
        let source = ScriptedSource([.init(chunks: [running, a])],
                                    runs: [TaskRun(runID: "trun_f", status: .completed)],
                                    resultOutput: RunOutput(content: .json(["hq": "Berlin"])))
        let outcome = follower().follow(runID: "trun_f", source: source) { _ in }
        #expect(source.connectCount == 2 && source.retrieveCount == 1 && source.resultCount == 1)
        guard case .finished(let run, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(run.status == .completed && output?.json?["hq"] == "Berlin")
    }

    @Test func malformedAndUnknownEventsAreSkippedWithoutFailing() {
        let failedError = #"{"ref_id":"e1","message":"Task execution failed","detail":null}"#
        let source = ScriptedSource([.init(chunks: [
            running.replacingOccurrences(of: "\n", with: "\r\n"),
            ": keep-alive comment\n\n",
            "event: task_run.progress_msg.plan\ndata: {not json at all\n\n",
            "data: {\"type\":\"task_run.progress_msg.reason",  // split across two reads
            "ing\",\"message\":\"Weighing sources\",\"timestamp\":null}\n\n",
            "data: {\"type\":\"mystery.event\",\"x\":1}\n\n",
            "data: {\"type\":\"task_run.progress_stats\",\"progress_meter\":\"lots\"}\n\n",
            SSE.state("failed", active: false, error: failedError),
        ])], runs: [TaskRun(runID: "trun_f", status: .running)])
        var events: [RunEvent] = []
        let outcome = follower().follow(runID: "trun_f", source: source) { update in
            if case .event(let event, _) = update { events.append(event) }
        }
        #expect(events.count == 4)
        #expect(events.contains(.progressMessage(ProgressMessage(kind: "reasoning", message: "Weighing sources", timestamp: nil))))
        #expect(events.contains(.unknown(type: "mystery.event")))
        #expect(source.skipped == 2)  // invalid JSON, and a stats meter that is not a number
        #expect(source.resultCount == 0)
        guard case .finished(let run, let output) = outcome else { Issue.record("\(outcome)"); return }
        #expect(run.status == .failed && run.error?.message == "Task execution failed" && output == nil)
    }

    @Test func nonRetryableErrorsGiveUpAtOnce() {
        let notFound = ParallelError.api(status: 404, refID: "x", message: "Run id not found", retryable: false)
        let source = ScriptedSource([.init(chunks: [], end: .fail(notFound))], runs: [TaskRun(runID: "trun_f", status: .running)])
        let outcome = follower().follow(runID: "trun_f", source: source) { _ in }
        guard case .gaveUp(.api(404, _, _, _), _) = outcome else { Issue.record("\(outcome)"); return }
        #expect(source.connectCount == 1 && source.retrieveCount == 0)
    }

    @Test func repeatedEmptyConnectionsBackOffThenGiveUp() {
        let source = ScriptedSource([.init(chunks: [running])], runs: [TaskRun(runID: "trun_f", status: .running)])
        var delays: [Double] = []
        let policy = RunFollowPolicy(reconnectInitialDelay: 1, reconnectMaxDelay: 3, maxConsecutiveFailures: 3)
        let outcome = follower(policy).follow(runID: "trun_f", source: source) { update in
            if case .reconnecting(_, let delay, _) = update { delays.append(delay) }
        }
        // The first connection brought a new event (healthy): reconnect at once; the empty ones after it back off.
        #expect(delays == [0, 1, 2, 3])
        #expect(source.connectCount == 5)
        guard case .gaveUp(.streamExhausted(5), let lastRun) = outcome else { Issue.record("\(outcome)"); return }
        #expect(lastRun?.status == .running)
    }

    @Test func stopFlagEndsFollowing() {
        let source = ScriptedSource([.init(chunks: [running, a, b])], runs: [TaskRun(runID: "trun_f", status: .running)])
        var seen = 0
        let outcome = follower().follow(runID: "trun_f", source: source, shouldStop: { seen >= 2 }) { update in
            if case .event = update { seen += 1 }
        }
        guard case .stopped = outcome else { Issue.record("\(outcome)"); return }
        #expect(seen == 2 && source.connectCount == 1)
    }

    @Test func statsOnlyMoveForward() {
        var dedupe = RunEventDeduplicator()
        #expect(dedupe.classify(.progressStats(ProgressStats(progressMeter: 10, numSourcesConsidered: 5))) == .new)
        #expect(dedupe.classify(.progressStats(ProgressStats(progressMeter: 10, numSourcesConsidered: 5))) == .replayed)
        #expect(dedupe.classify(.progressStats(ProgressStats(progressMeter: 5, numSourcesConsidered: 9))) == .replayed)
        #expect(dedupe.classify(.progressStats(ProgressStats(progressMeter: 10, numSourcesConsidered: 6))) == .new)
        #expect(dedupe.latestStats?.numSourcesConsidered == 6)
        // Same text at another time is a new message; same type, time and text is a replay.
        #expect(dedupe.classify(.progressMessage(ProgressMessage(kind: "plan", message: "m", timestamp: "t1"))) == .new)
        #expect(dedupe.classify(.progressMessage(ProgressMessage(kind: "plan", message: "m", timestamp: "t2"))) == .new)
        #expect(dedupe.classify(.progressMessage(ProgressMessage(kind: "plan", message: "m", timestamp: "t1"))) == .replayed)
    }

    @Test func reconnectDelayIsJitteredAndCapped() {
        var state = RunFollowState(policy: RunFollowPolicy(reconnectInitialDelay: 2, reconnectMaxDelay: 30))
        for _ in 0..<10 {
            state.connectionStarted()
            _ = state.connectionEnded(.closed, duration: 0)
        }
        #expect(state.consecutiveFailures == 10)
        #expect(state.reconnectDelay(random: 1) == 30 && state.reconnectDelay(random: 0) == 15)
        state.connectionStarted()
        _ = state.connectionEnded(.closed, duration: 600)  // a long healthy connection resets the backoff
        #expect(state.consecutiveFailures == 0 && state.reconnectDelay(random: 1) == 0)
        state.connectionStarted()
        _ = state.connectionEnded(.closed, duration: 0)  // the first failure after it waits the initial delay
        #expect(state.reconnectDelay(random: 1) == 2 && state.reconnectDelay(random: 0) == 1)
    }
}
