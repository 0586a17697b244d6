import Engine
import Foundation
import HTTPClient
import Logging
import ParallelAPI
import Postgres

/// Follows one report's upstream run on the monitoring thread's `FollowLoop`: its event stream is a transfer on
/// the loop's multi handle, every new event is stored (batched with the others of the same pass), reconnects wait
/// on the loop's timers with backoff and jitter (`RunFollowState` decides), and when the stream gives up the run is
/// polled on the same timers. The result is fetched on the same handle and the report finished through
/// `ReportCompletion`. Lives on the loop thread only; holds no thread and no connection.
final class ReportRunFollow: FollowedWork {
    let reportID: Int64
    let runID: String
    /// This run's key on the loop.
    let key: FollowKey
    private let context: ReportFollowContext
    private var state: RunFollowState
    private weak var loop: FollowLoop?
    private var connectedAt = 0.0
    private var notFound = 0
    /// Events received in this pass of the loop, stored together as one job (one statement appends them all).
    private var unstored: [RunEventMapping.Mapped] = []
    /// The terminal state event that carried the run's output, as received: the output is decoded by the lane
    /// that stores the report, not on the loop thread that reads every run's stream (`completeDecoding`).
    private var terminalPayload: String?

    init(reportID: Int64, runID: String, context: ReportFollowContext) {
        self.reportID = reportID
        self.runID = runID
        key = .report(reportID)
        self.context = context
        state = RunFollowState(policy: context.policy)
    }

    func start(on loop: FollowLoop) {
        self.loop = loop
        context.logger.info("Following run", metadata: ["report_id": "\(reportID)"])
        connect()
    }

    // MARK: - The event stream

    private func connect() {
        guard let loop else { return }
        state.connectionStarted()
        connectedAt = FollowLoop.now()
        let request = context.client.runEventsRequest(runID: runID, idleTimeout: context.policy.idleTimeout)
        loop.openStream(key, request, onEvent: { [self] event in
            guard !event.data.isEmpty, let decoded = try? RunEvent.decode(event.data, skippingOutput: true)
            else { return true }
            if case .state(let stateEvent) = decoded, !stateEvent.run.isActive {
                terminalPayload = stateEvent.skippedOutput ? event.data : nil
            }
            let (_, deliver) = state.receive(decoded)
            if deliver, let mapped = RunEventMapping.map(decoded) { storeEvent(mapped) }
            return !state.isFinished
        }, onEnd: { [self] result, body in
            ended(result, errorBody: body)
        })
    }

    /// Keeps `mapped` for this pass's store of events: a zero-delay timer fires after the loop has read every
    /// transfer, before it hands the pass's stores to the lanes.
    private func storeEvent(_ mapped: RunEventMapping.Mapped) {
        unstored.append(mapped)
        if unstored.count == 1 { loop?.after(key, seconds: 0) { [self] in storeEvents() } }
    }

    /// Queues the events kept so far as stores of at most `eventsPerStore` each (a replay of hundreds of events
    /// must not make one long transaction), merged by the lane with the other runs' (`ReportProgress.merged`);
    /// anything else stored for this run goes after them.
    private func storeEvents() {
        for start in stride(from: 0, to: unstored.count, by: Self.eventsPerStore) {
            let events = Array(unstored[start..<min(unstored.count, start + Self.eventsPerStore)])
            loop?.store(key, ReportProgress.Events(reportID: reportID, events: events), mergedBy: ReportProgress.merged)
        }
        unstored.removeAll()
    }

    static let eventsPerStore = 32

    private func ended(_ result: Result<HTTPResponseHead, HTTPClientError>, errorBody: [UInt8]) {
        if state.isFinished { return finish() }
        let end: RunFollowState.ConnectionEnd = context.client.streamProblem(result, body: errorBody).map { .failed($0) } ?? .closed
        let step = state.connectionEnded(end, duration: FollowLoop.now() - connectedAt)
        guard step == .checkRun else { return act(step) }
        fetchRun { [self] fetched in
            switch fetched {
            case .success(let run): act(state.runChecked(run, random: .random(in: 0...1)))
            case .failure(let error): act(state.runChecked(nil, error: error, random: .random(in: 0...1)))
            }
        }
    }

    private func act(_ step: RunFollowState.Step) {
        switch step {
        case .finish:
            finish()
        case .giveUp, .checkRun:
            context.logger.notice("Run event stream unavailable, polling", metadata: ["report_id": "\(reportID)"])
            poll()
        case .reconnect(let delay, let reason):
            context.logger.info("Reconnecting to Parallel run events", metadata: [
                "report_id": "\(reportID)", "delay_s": "\(delay)", "reason": "\(reason)",
            ])
            loop?.after(key, seconds: delay) { [self] in connect() }
        }
    }

    // MARK: - Finishing

    /// Finishes from the terminal state; a completed run whose state carried no output gets it from `/result`.
    /// (Events are decoded without their output here, so `state.terminalOutput` stays nil: `terminalPayload` has it.)
    private func finish() {
        guard let run = state.terminalRun else { return poll() }
        guard run.status == .completed else { return complete(run, nil) }
        guard let payload = terminalPayload else { return fetchResult(run, attempt: 0) }
        complete(run) { () throws(ParallelError) in try Self.output(ofStateEvent: payload) }
    }

    /// The run and output in a terminal state event's payload.
    private static func output(ofStateEvent payload: String) throws(ParallelError) -> (TaskRun, RunOutput?) {
        guard case .state(let event) = try RunEvent.decode(payload) else { throw .decoding("not a state event") }
        return (event.run, event.output)
    }

    private func fetchResult(_ run: TaskRun, attempt: Int) {
        let request = context.client.resultRequest(runID: runID, timeout: context.policy.resultTimeout)
        loop?.fetch(key, request) { [self] response in
            do throws(ParallelError) {
                let body = try context.client.resultBody(try ParallelClient.response(response))
                complete(run) { () throws(ParallelError) in
                    let result = try ParallelClient.decodeResult(body: body)
                    return (result.run, result.output)
                }
            } catch {
                context.logger.warning("Fetching the Parallel result failed", metadata: [
                    "report_id": "\(reportID)", "attempt": "\(attempt + 1)", "error": "\(error)",
                ])
                guard error.isRetryable, attempt < 2 else { return complete(run, nil) }
                loop?.after(key, seconds: context.policy.reconnectInitialDelay) { [self] in
                    fetchResult(run, attempt: attempt + 1)
                }
            }
        }
    }

    /// Finishes the report in the database; when that was not possible yet (no output, `action_required`, a
    /// database problem) the run is polled on.
    private func complete(_ run: TaskRun, _ output: RunOutput?) {
        complete(run) { (run, output) }
    }

    /// Finishes the report with the run and output `outcome` reads from what upstream sent (a result, a terminal
    /// state event), on the lane that stores it, not on the loop thread that reads every run's stream: when 3,000
    /// runs finished in the same two seconds, decoding their reports held the loop and the other runs' events
    /// waited. What does not decode finishes nothing: the run is polled on and its result fetched again.
    private func complete(_ run: TaskRun, outcome: @escaping () throws(ParallelError) -> (TaskRun, RunOutput?)) {
        let (reportID, completion, logger) = (reportID, context.completion, context.logger)
        storeEvents()
        loop?.store(key, heavy: true, { connection in
            var finished = (run, RunOutput?.none)
            do throws(ParallelError) {
                finished = try outcome()
            } catch {
                logger.warning("Decoding the Parallel result failed", metadata: [
                    "report_id": "\(reportID)", "error": "\(error)",
                ])
            }
            return try completion.finish(reportID: reportID, run: finished.0, output: finished.1, on: connection) != nil
        }, then: { [self] finished in
            guard finished else { return schedulePoll() }
            context.logger.info("Report finished", metadata: [
                "report_id": "\(reportID)", "run_status": "\(run.status)",
            ])
            done()
        })
    }

    private func done() {
        loop?.finished(key)
        context.ended(reportID)
    }

    // MARK: - Polling

    private func schedulePoll() {
        loop?.after(key, seconds: context.pollSeconds) { [self] in poll() }
    }

    /// GETs the run; finishes it when terminal, otherwise asks again after `pollSeconds`.
    private func poll() {
        fetchRun { [self] fetched in
            switch fetched {
            case .success(let run):
                notFound = 0
                guard run.status.isTerminal else { return schedulePoll() }
                if run.status == .completed { fetchResult(run, attempt: 0) } else { complete(run, nil) }
            case .failure(let error):
                if case .api(404, _, _, _) = error {
                    notFound += 1
                    if notFound >= 3 { return failUnknown() }
                }
                context.logger.warning("Polling the run failed", metadata: [
                    "report_id": "\(reportID)", "error": "\(error)",
                ])
                schedulePoll()
            }
        }
    }

    private func failUnknown() {
        let (reportID, completion) = (reportID, context.completion)
        storeEvents()
        loop?.store(key, { connection in
            _ = try completion.fail(reportID: reportID, reason: "The research run is unknown upstream.", on: connection)
            return true
        }, then: { [self] stored in stored ? done() : schedulePoll() })
    }

    private func fetchRun(_ then: @escaping (Result<TaskRun, ParallelError>) -> Void) {
        loop?.fetch(key, context.client.retrieveRunRequest(runID)) { [context] response in
            do throws(ParallelError) {
                then(.success(try context.client.decodeRun(try ParallelClient.response(response))))
            } catch {
                then(.failure(error))
            }
        }
    }
}

/// What every `ReportRunFollow` of one monitor shares: the request builder (a `ParallelClient`, used on the loop
/// thread only), the finishing logic, the tunables and how to tell the lease runner a run ended here.
final class ReportFollowContext: @unchecked Sendable {
    let client: ParallelClient
    let completion: ReportCompletion
    let policy: RunFollowPolicy
    let pollSeconds: Double
    let logger: Logger
    let ended: @Sendable (Int64) -> Void

    init(configuration: AppConfiguration, completion: ReportCompletion, logger: Logger,
         ended: @escaping @Sendable (Int64) -> Void) throws {
        client = try ParallelClient(configuration: UpstreamConfiguration.parallel(configuration), logger: logger)
        self.completion = completion
        policy = UpstreamConfiguration.followPolicy(configuration.monitor)
        pollSeconds = configuration.monitor.pollSeconds
        self.logger = logger
        self.ended = ended
    }
}

extension FollowKey {
    /// A report run's key on the monitoring loop (report and batch ids come from different tables and can be equal).
    static func report(_ id: Int64) -> FollowKey { FollowKey(reportKind, id) }
    static let reportKind = "report"
}
