import Engine
import Foundation
import HTTPClient
import Logging
import ParallelAPI
import Postgres

/// Follows one batch on the monitoring thread's `FollowLoop` while this process holds its lease: creates its Task
/// Group, adopts runs found in the group after a takeover, adds runs in waves of at most `max_parallel` active
/// runs, follows the group's event stream (a transfer on the loop's multi handle, resuming after the stored cursor,
/// re-opened every stream slice and whenever a finished run frees a slot), fetches each finished run's result on
/// the same handle and finishes the batch exactly once. Every database step is a `FollowLoop.store` job on a
/// `BatchLedger` over the lane's connection; upstream failures wait on the loop's timers. Holds no thread and no
/// connection.
///
/// Group events are handled one at a time from an in-memory queue (bounded by the batch's events): the stored
/// cursor never moves past a finished run whose result is not stored yet. Every step is idempotent (row status
/// checks, event dedupe keys, conditional updates), so a successor that takes over after a crash repeats nothing
/// visible. Lives on the loop thread only.
final class BatchWork: FollowedWork {
    let batchID: Int64
    let key: FollowKey
    private let context: BatchFollowContext
    private weak var loop: FollowLoop?
    private var logger: Logger
    /// Upstream failures in a row (reset by a round that went through).
    private var failures = 0
    /// Whether runs that exist upstream but not in our rows were looked for since this owner started.
    private var adopted = false
    /// Whether domains still wait for a run (read at each top-up): a finished run then frees a slot.
    private var moreToAdd = false
    /// The current group event stream; callbacks of an older one (abandoned after a failure) are ignored.
    private var stream = 0
    private var streamOpened = 0.0
    private var streamStopped = false
    private var streamEnd: (result: Result<HTTPResponseHead, HTTPClientError>, body: [UInt8])?
    private var queue: [RunEvent] = []
    private var handlingEvent = false

    /// Gives up (fails the batch) after this many upstream failures in a row.
    static let maxConsecutiveFailures = 12

    init(batchID: Int64, context: BatchFollowContext) {
        self.batchID = batchID
        key = .batch(batchID)
        self.context = context
        logger = context.logger
        logger[metadataKey: "batch"] = "\(batchID)"
    }

    func start(on loop: FollowLoop) {
        self.loop = loop
        guard context.client != nil else {
            return ledger({ try $0.fail("The Parallel API key is not configured.") }, then: { [self] _ in done() })
        }
        round()
    }

    private var client: ParallelClient { context.client! }

    // MARK: - One round: group, adoption, top-up, one stream slice

    private func round() {
        ledger({ try $0.load() }, then: { [self] loaded in
            guard let loaded else { return databaseProblem() }
            // Finished, failed or gone meanwhile: nothing left to follow.
            guard let state = loaded, state.status == "running" else { return done() }
            if let groupID = state.taskgroupID { return adoptIfNeeded(groupID: groupID, state: state) }
            createGroup(state)
        })
    }

    private func createGroup(_ state: BatchLedger.State) {
        let request: HTTPRequest
        do throws(ParallelError) {
            request = try client.createGroupRequest(metadata: ["batch": .string(state.publicID)])
        } catch {
            return upstreamFailed(error)
        }
        send(request, kind: .create) { [self] outcome in
            let group: TaskGroup
            do throws(ParallelError) {
                group = try client.decodeGroup(try ParallelClient.response(outcome))
            } catch {
                return upstreamFailed(error)
            }
            ledger({ ledger in
                try ledger.setGroup(group.taskgroupID)
                return try ledger.load()?.taskgroupID
            }, then: { [self] stored in
                guard let stored, let groupID = stored else { return databaseProblem() }
                // A group we just created holds no runs yet: nothing to adopt.
                adopted = groupID == group.taskgroupID
                adoptIfNeeded(groupID: groupID, state: state)
            })
        }
    }

    /// After a takeover (or an uncertain add), runs may exist upstream that we never recorded.
    private func adoptIfNeeded(groupID: String, state: BatchLedger.State) {
        guard !adopted else { return topUp(groupID: groupID, state: state) }
        ledger({ try $0.hasUnassigned() }, then: { [self] unassigned in
            guard let unassigned else { return databaseProblem() }
            guard unassigned else {
                adopted = true
                return topUp(groupID: groupID, state: state)
            }
            adoptRuns(groupID: groupID, state: state)
        })
    }

    /// Lists the group's runs and records the ids of ours that have no run id yet (matched by metadata).
    private func adoptRuns(groupID: String, state: BatchLedger.State) {
        var found: [(Int, String)] = []
        loop?.openStream(key, client.groupRunsRequest(groupID: groupID), onEvent: { event in
            if !event.data.isEmpty, case .state(let run)? = try? RunEvent.decode(event.data),
               run.run.metadata?["batch"]?.stringValue == state.publicID,
               let position = run.run.metadata?["pos"].flatMap(Self.integer) {
                found.append((position, run.run.runID))
            }
            return true
        }, onEnd: { [self] result, body in
            if let problem = client.streamProblem(result, body: body) { return upstreamFailed(problem) }
            let pairs = found
            ledger({ try $0.adopt(pairs) }, then: { [self] count in
                guard let count else { return databaseProblem() }
                if count > 0 { logger.info("batch adopted runs found in its group", metadata: ["count": "\(count)"]) }
                adopted = true
                topUp(groupID: groupID, state: state)
            })
        })
    }

    /// Adds runs for the next pending domains while fewer than `max_parallel` are active.
    private func topUp(groupID: String, state: BatchLedger.State) {
        ledger({ ledger -> ([(position: Int, domain: String)], Bool) in
            let free = max(0, state.maxParallel - (try ledger.activeCount()))
            // One row more than fits tells whether domains are left for later waves.
            let next = try ledger.pendingDomains(limit: free + 1)
            return (Array(next.prefix(free)), next.count > free)
        }, then: { [self] read in
            guard let read else { return databaseProblem() }
            let (pending, more) = read
            moreToAdd = more
            guard !pending.isEmpty else { return follow(groupID: groupID, cursor: state.cursor) }
            let inputs = pending.map { item in
                BatchResearchSpec.runInput(goal: state.goal, domain: item.domain, position: item.position,
                                           batchPublicID: state.publicID, processor: state.processor,
                                           simFault: Self.simFault(for: item.domain))
            }
            let request: HTTPRequest
            do throws(ParallelError) {
                request = try client.addRunsRequest(groupID: groupID, inputs: inputs)
            } catch {
                return upstreamFailed(error)
            }
            send(request, kind: .create) { [self] outcome in
                let answer: TaskGroupRunResponse
                do throws(ParallelError) {
                    answer = try client.decodeAddedRuns(outcome)
                } catch {
                    if case .createUncertain = error { adopted = false }
                    return upstreamFailed(error)
                }
                ledger({ try $0.assign(runIDs: answer.runIDs, to: pending.map(\.position)) }, then: { [self] stored in
                    guard stored != nil else { return databaseProblem() }
                    logger.info("batch runs added", metadata: ["count": "\(answer.runIDs.count)"])
                    follow(groupID: groupID, cursor: state.cursor)
                })
            }
        })
    }

    // MARK: - The group event stream

    /// Reads group events for one slice; each is handled in order from `queue` (see `handleNext`).
    private func follow(groupID: String, cursor: String?) {
        stream += 1
        let generation = stream
        queue = []
        handlingEvent = false
        streamEnd = nil
        streamStopped = false
        streamOpened = FollowLoop.now()
        let request = client.groupEventsRequest(groupID: groupID, lastEventID: cursor,
                                                timeout: context.settings.streamSlice)
        loop?.openStream(key, request, onEvent: { [self] event in
            guard generation == stream else { return false }
            guard !event.data.isEmpty else { return true }
            guard let decoded = try? RunEvent.decode(event.data) else {
                logger.warning("Skipped malformed Parallel group event")
                return true
            }
            queue.append(decoded)
            // A finished run frees a slot: stop reading, handle what came, top up and reconnect.
            if case .state(let state) = decoded, state.run.status.isTerminal, moreToAdd { streamStopped = true }
            handleNext()
            return !streamStopped
        }, onEnd: { [self] result, body in
            guard generation == stream else { return }
            streamEnd = (result, body)
            handleNext()
        })
    }

    /// Handles the oldest queued event (when none is being handled); once the queue is empty and the stream has
    /// ended, decides what comes next.
    private func handleNext() {
        guard !handlingEvent else { return }
        guard !queue.isEmpty else {
            guard let end = streamEnd else { return }
            streamEnd = nil
            return streamEnded(end.result, end.body)
        }
        // Events that only move the cursor are folded into one write.
        var cursor: String?
        while let first = queue.first, !Self.needsWork(first) {
            cursor = first.eventID ?? cursor
            queue.removeFirst()
        }
        let generation = stream
        let next: (@escaping (ParallelError?) -> Void) -> Void
        if let cursor {
            next = { [self] finished in setCursor(cursor, finished) }
        } else {
            let event = queue.removeFirst()
            next = { [self] finished in handle(event, finished) }
        }
        handlingEvent = true
        next { [self] problem in
            guard generation == stream else { return }
            handlingEvent = false
            if let problem { return abandonStream(problem) }
            handleNext()
        }
    }

    /// Stores a finished run's result or an upstream error, then moves the cursor past the event.
    private func handle(_ event: RunEvent, _ finished: @escaping (ParallelError?) -> Void) {
        let moveCursor = { [self] in
            guard let id = event.eventID else { return finished(nil) }
            setCursor(id, finished)
        }
        switch event {
        case .state(let state) where state.run.status.isTerminal:
            record(state.run) { problem in
                if let problem { finished(problem) } else { moveCursor() }
            }
        case .error(let upstream):
            ledger({ try $0.upstreamError("Parallel reported an error on the group stream: \(upstream.message)") },
                   then: { [self] stored in stored == nil ? databaseProblem() : moveCursor() })
        default:
            moveCursor()
        }
    }

    private func setCursor(_ cursor: String, _ finished: @escaping (ParallelError?) -> Void) {
        ledger({ try $0.setCursor(cursor) }, then: { [self] stored in
            stored == nil ? databaseProblem() : finished(nil)
        })
    }

    private func streamEnded(_ result: Result<HTTPResponseHead, HTTPClientError>, _ body: [UInt8]) {
        if streamStopped { return roundDone() }
        if let problem = client.streamProblem(result, body: body) { return upstreamFailed(problem) }
        // The server closes the stream early when the group is idle; make sure no finish was missed.
        guard FollowLoop.now() - streamOpened < context.settings.streamSlice / 2 else { return roundDone() }
        ledger({ try $0.activeRunIDs() }, then: { [self] runIDs in
            guard let runIDs else { return databaseProblem() }
            reconcile(runIDs[...])
        })
    }

    /// Asks for every active run directly (a safety net behind the event stream), one after the other.
    private func reconcile(_ runIDs: ArraySlice<String>) {
        guard let runID = runIDs.first else { return roundDone() }
        send(client.retrieveRunRequest(runID), kind: .idempotent) { [self] outcome in
            let run: TaskRun
            do throws(ParallelError) {
                run = try client.decodeRun(try ParallelClient.response(outcome))
            } catch {
                return upstreamFailed(error)
            }
            guard run.status.isTerminal else { return reconcile(runIDs.dropFirst()) }
            record(run) { [self] problem in
                if let problem { return upstreamFailed(problem) }
                reconcile(runIDs.dropFirst())
            }
        }
    }

    // MARK: - Results

    /// Stores a finished run: its result when completed (fetched from `/result`), its error when not. `finished`
    /// gets nil once stored (or when nothing was left to store), the upstream problem otherwise.
    private func record(_ run: TaskRun, _ finished: @escaping (ParallelError?) -> Void) {
        let runID = run.runID
        ledger({ try $0.needsResult(runID: runID) }, then: { [self] needed in
            guard let needed else { return databaseProblem() }
            guard needed else { return finished(nil) }
            guard run.status == .completed else {
                let message = run.error?.message ?? "The run ended \(run.status.rawValue)."
                return store({ try $0.failRun(runID: runID, message: message) }, finished)
            }
            send(client.resultRequest(runID: runID, timeout: 60), kind: .result) { [self] outcome in
                let result: TaskRunResult
                do throws(ParallelError) {
                    result = try client.decodeResult(try ParallelClient.response(outcome))
                } catch {
                    if case .notFoundOrFailed = error {
                        return store({ try $0.failRun(runID: runID, message: "The run's result is not available.") },
                                     finished)
                    }
                    return finished(error)
                }
                let analysis = BatchResearchSpec.analyse(result.output)
                store({ try $0.complete(runID: runID, analysis: analysis) }, finished)
            }
        })
    }

    private func store(_ write: @escaping (BatchLedger) throws -> Void,
                       _ finished: @escaping (ParallelError?) -> Void) {
        ledger(write, then: { [self] stored in stored == nil ? databaseProblem() : finished(nil) })
    }

    // MARK: - Ending a round

    /// A round went through: finish the batch when every run has finished, otherwise start the next round.
    private func roundDone() {
        failures = 0
        finishOrContinue()
    }

    private func finishOrContinue() {
        ledger({ ledger -> Bool in
            guard try ledger.allFinished() else { return false }
            try ledger.finish()
            return true
        }, then: { [self] finished in
            guard let finished else { return databaseProblem() }
            guard finished else { return round() }
            logger.info("batch completed")
            done()
        })
    }

    /// Counts an upstream failure: fails the batch when it is fatal or the failures in a row are too many,
    /// otherwise records it (an `error` event) and starts over after a backoff.
    private func upstreamFailed(_ error: ParallelError) {
        stream += 1
        failures += 1
        logger.warning("batch upstream problem", metadata: ["error": "\(error)"])
        let fatal: Bool
        switch error {
        case .api(let status, _, _, _): fatal = [400, 401, 402, 403, 404, 422].contains(status)
        case .invalidRequest: fatal = true
        default: fatal = false
        }
        if fatal || failures >= Self.maxConsecutiveFailures {
            return ledger({ try $0.fail(Self.reason(error)) }, then: { [self] stored in
                stored == nil ? databaseProblem() : done()
            })
        }
        let backoff = min(pow(2, Double(failures - 1)) * 0.5, 10)
        ledger({ try $0.upstreamError(Self.recoverableMessage(error)) }, then: { [self] stored in
            guard stored != nil else { return databaseProblem() }
            loop?.after(key, seconds: backoff) { [self] in finishOrContinue() }
        })
    }

    /// Handling a queued event failed upstream: drop the rest of this stream (the cursor still points before the
    /// unhandled events, so they come again) and count the failure.
    private func abandonStream(_ problem: ParallelError) {
        queue = []
        upstreamFailed(problem)
    }

    /// A store did not go through (a database problem, or the lease was lost, which the lease tick notices and
    /// cancels this work for): start the round over after a pause, from what PostgreSQL holds.
    private func databaseProblem() {
        stream += 1
        queue = []
        logger.warning("batch store failed; starting the round over")
        loop?.after(key, seconds: 1) { [self] in round() }
    }

    private func done() {
        stream += 1
        loop?.finished(key)
        context.ended(batchID)
    }

    // MARK: - Helpers

    /// Runs `body` on a ledger over this batch's database lane (a `FollowLoop.store` job, batched with the other
    /// stores of the same pass); `then` gets its value on the loop thread, or nil when it threw (a database
    /// problem, a lost lease).
    private func ledger<T>(_ body: @escaping (BatchLedger) throws -> T, then: @escaping (T?) -> Void) {
        let (batchID, owner) = (batchID, context.owner)
        let value = LaneValue<T>()
        loop?.store(key, { connection in
            value.value = try body(BatchLedger(batchID: batchID, owner: owner, connection: connection))
            return true
        }, then: { stored in then(stored ? value.value : nil) })
    }

    /// Sends `request` on the loop's multi handle, repeating it as the client's retry policy says for `kind`
    /// (waiting on the loop's timers).
    private func send(_ request: HTTPRequest, kind: RetryPolicy.CallKind, attempt: Int = 0,
                      then: @escaping (Result<HTTPResponse, HTTPClientError>) -> Void) {
        loop?.fetch(key, request) { [self] outcome in
            guard let delay = client.retryDelay(after: outcome, kind: kind, attempt: attempt) else { return then(outcome) }
            logger.warning("Parallel call will be retried", metadata: [
                "method": "\(request.method)", "delay_s": "\(delay)", "attempt": "\(attempt + 1)",
            ])
            loop?.after(key, seconds: delay) { [self] in send(request, kind: kind, attempt: attempt + 1, then: then) }
        }
    }

    /// Whether an event asks for more than moving the cursor (a finished run, an upstream error).
    static func needsWork(_ event: RunEvent) -> Bool {
        switch event {
        case .state(let state): state.run.status.isTerminal
        case .error: true
        default: false
        }
    }

    static func recoverableMessage(_ error: ParallelError) -> String {
        switch error {
        case .transport: "Lost the connection to Parallel; resuming from the last event."
        case .createUncertain: "Adding runs to the task group may have failed; checking the group before retrying."
        case .decoding: "Parallel sent data that could not be read; retrying."
        default: "Parallel is unavailable (\(error.status.map(String.init) ?? "error")); retrying."
        }
    }

    static func reason(_ error: ParallelError) -> String {
        switch error {
        case .api(let status, _, let message, _): "Parallel refused the request (\(status)): \(BatchResearchSpec.clip(message, 200))"
        default: "Parallel kept failing: \(BatchResearchSpec.clip(error.description, 200))"
        }
    }

    /// A test hook: a domain `<fault>.sim.test` (a reserved TLD, never a company) asks upstream-sim for a
    /// per-run fault, e.g. `run-failed.sim.test` → `metadata.sim_fault = "run_failed"`. Parallel ignores it.
    static func simFault(for domain: String) -> String? {
        guard domain.hasSuffix(".sim.test"), let label = domain.split(separator: ".").first else { return nil }
        return label.replacingOccurrences(of: "-", with: "_")
    }

    static func integer(_ value: JSONValue) -> Int? {
        switch value {
        case .integer(let number): number
        case .number(let number): Int(exactly: number)
        case .string(let text): Int(text)
        default: nil
        }
    }
}

/// What every `BatchWork` of one monitor shares: the request builder (a `ParallelClient`, used on the loop thread
/// only; nil without an API key), the timing settings, the lease owner and how to tell the lease runner a batch
/// ended here.
final class BatchFollowContext: @unchecked Sendable {
    let client: ParallelClient?
    let settings: BatchSettings
    let owner: String
    let logger: Logger
    let ended: @Sendable (Int64) -> Void

    init(configuration: AppConfiguration, settings: BatchSettings, owner: String, logger: Logger,
         ended: @escaping @Sendable (Int64) -> Void) throws {
        if let key = configuration.parallelAPIKey {
            client = try ParallelClient(
                configuration: ParallelConfiguration(baseURL: configuration.parallelBaseURL, apiKey: key), logger: logger)
        } else {
            client = nil
        }
        self.settings = settings
        self.owner = owner
        self.logger = logger
        self.ended = ended
    }
}

/// A value a store job computes on its lane thread for the loop thread, which reads it only after the job's
/// answer came back through the loop's inbox (that hand-over orders the two).
private final class LaneValue<T>: @unchecked Sendable {
    var value: T?
}

extension FollowKey {
    /// A batch's key on the monitoring loop (report and batch ids come from different tables and can be equal).
    static func batch(_ id: Int64) -> FollowKey { FollowKey(batchKind, id) }
    static let batchKind = "batch"
}
