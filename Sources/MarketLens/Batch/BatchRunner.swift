import Engine
import Foundation
import Logging
import ParallelAPI
import Postgres

/// Follows one batch while this process holds its lease: creates its Task Group, adds runs in waves of at
/// most `max_parallel` active runs, reads the group's event stream (resuming after the stored cursor), stores
/// each finished run's result and the seed's progress events, and finishes the batch exactly once.
/// Every step is idempotent (row status checks, event dedupe keys, conditional updates), so a successor
/// that takes over after a crash repeats nothing visible.
struct BatchRunner: Sendable {
    let batchID: Int64
    let owner: String
    let configuration: AppConfiguration
    let settings: BatchSettings
    let stop: any StopSignal
    let logger: Logger

    /// Gives up (fails the batch) after this many upstream failures in a row.
    static let maxConsecutiveFailures = 12

    func run() {
        var log = logger
        log[metadataKey: "batch"] = "\(batchID)"
        do {
            let connection = try Connection(url: configuration.databaseURL)
            guard let key = configuration.parallelAPIKey else {
                try BatchLedger(batchID: batchID, owner: owner, connection: connection)
                    .fail("The Parallel API key is not configured.")
                return
            }
            let parallel = ParallelConfiguration(baseURL: configuration.parallelBaseURL, apiKey: key)
            // Two clients, two libcurl handles: results are fetched while the group stream is being read, and
            // one easy handle cannot run a transfer from inside another of its own.
            let client = try ParallelClient(configuration: parallel, logger: log)
            let fetcher = try ParallelClient(configuration: parallel, logger: log)
            var work = BatchWork(ledger: BatchLedger(batchID: batchID, owner: owner, connection: connection),
                                 client: client, fetcher: fetcher, settings: settings, stop: stop, logger: log)
            try work.drive()
        } catch {
            log.error("batch runner stopped on a database error", metadata: ["error": "\(error)"])
        }
    }
}

/// The state machine of one batch run by one owner.
struct BatchWork {
    let ledger: BatchLedger
    /// Group calls and the group event stream.
    let client: ParallelClient
    /// Run results and run status, called while `client` streams.
    let fetcher: ParallelClient
    let settings: BatchSettings
    let stop: any StopSignal
    let logger: Logger
    private var failures = 0
    private var adopted = false

    init(ledger: BatchLedger, client: ParallelClient, fetcher: ParallelClient, settings: BatchSettings,
         stop: any StopSignal, logger: Logger) {
        self.ledger = ledger
        self.client = client
        self.fetcher = fetcher
        self.settings = settings
        self.stop = stop
        self.logger = logger
    }

    mutating func drive() throws {
        while true {
            // The monitor renews the lease of every batch in one statement per tick, stops this runner when the
            // lease is lost, and releases all of them at shutdown.
            if stop.isRequested { return }
            guard let state = try ledger.load(), state.status == "running" else { return }
            do {
                try step(state)
                failures = 0
            } catch let error as ParallelError {
                if try handle(error) { return }
            }
            if try ledger.allFinished() {
                try ledger.finish()
                logger.info("batch completed")
                return
            }
        }
    }

    /// One round: group, reconcile, top up, then follow the group's events for one slice.
    private mutating func step(_ state: BatchLedger.State) throws {
        var groupID = state.taskgroupID
        if groupID == nil {
            let group = try client.createGroup(metadata: ["batch": .string(state.publicID)])
            try ledger.setGroup(group.taskgroupID)
            groupID = try ledger.load()?.taskgroupID
            // A group we just created holds no runs yet: nothing to adopt.
            adopted = groupID == group.taskgroupID
        }
        guard let groupID else { throw ParallelError.decoding("group id not stored") }
        if !adopted {
            // After a takeover (or an uncertain add), runs may exist upstream that we never recorded.
            if try ledger.hasUnassigned() { try adoptRuns(groupID: groupID, publicID: state.publicID) }
            adopted = true
        }
        try topUp(groupID: groupID, state: state)
        try follow(groupID: groupID, cursor: state.cursor)
    }

    /// Adds runs for the next pending domains while fewer than `max_parallel` are active.
    private mutating func topUp(groupID: String, state: BatchLedger.State) throws {
        let pending = try ledger.pendingDomains(limit: max(0, state.maxParallel - (try ledger.activeCount())))
        guard !pending.isEmpty else { return }
        let inputs = pending.map { item in
            BatchResearchSpec.runInput(goal: state.goal, domain: item.domain, position: item.position,
                                       batchPublicID: state.publicID, processor: state.processor,
                                       simFault: Self.simFault(for: item.domain))
        }
        let answer: TaskGroupRunResponse
        do throws(ParallelError) {
            answer = try client.addRuns(groupID: groupID, inputs: inputs)
        } catch {
            if case .createUncertain = error { adopted = false }
            throw error
        }
        try ledger.assign(runIDs: answer.runIDs, to: pending.map(\.position))
        logger.info("batch runs added", metadata: ["count": "\(answer.runIDs.count)"])
    }

    /// Reads group events for one slice; each finished run is stored before the cursor moves past it.
    private mutating func follow(groupID: String, cursor: String?) throws {
        var problem: (any Error)?
        var sawTerminal = false
        let started = ContinuousClock.now
        let ledger = self.ledger
        let fetcher = self.fetcher
        let stop = self.stop
        let end = try client.groupEvents(groupID: groupID, lastEventID: cursor, timeout: settings.streamSlice,
                                         shouldStop: { stop.isRequested }) { event in
            do {
                if case .state(let state) = event, state.run.status.isTerminal {
                    try BatchWork.record(state.run, ledger: ledger, client: fetcher)
                    sawTerminal = true
                }
                if case .error(let upstream) = event {
                    try ledger.upstreamError("Parallel reported an error on the group stream: \(upstream.message)")
                }
                if let id = event.eventID { try ledger.setCursor(id) }
            } catch {
                problem = error
                return false
            }
            // A finished run frees a slot: reconnect after topping up.
            return !(sawTerminal && ((try? ledger.hasUnassigned()) ?? false))
        }
        if let problem { throw problem }
        // The server closes the stream early when the group is idle; make sure no finish was missed.
        if end == .closed, ContinuousClock.now - started < .seconds(settings.streamSlice / 2) {
            try reconcile()
        }
    }

    /// Asks for every active run directly (a safety net behind the event stream).
    private func reconcile() throws {
        for runID in try ledger.activeRunIDs() {
            let run = try fetcher.retrieveRun(runID)
            if run.status.isTerminal { try Self.record(run, ledger: ledger, client: fetcher) }
        }
    }

    /// Stores a finished run: its result when completed (fetched from `/result`), its error when not.
    static func record(_ run: TaskRun, ledger: BatchLedger, client: ParallelClient) throws {
        guard try ledger.needsResult(runID: run.runID) else { return }
        if run.status == .completed {
            let result: TaskRunResult
            do throws(ParallelError) {
                result = try client.result(runID: run.runID, timeout: 60)
            } catch {
                if case .notFoundOrFailed = error {
                    try ledger.failRun(runID: run.runID, message: "The run's result is not available.")
                    return
                }
                throw error
            }
            try ledger.complete(runID: run.runID, analysis: BatchResearchSpec.analyse(result.output))
        } else {
            try ledger.failRun(runID: run.runID, message: run.error?.message ?? "The run ended \(run.status.rawValue).")
        }
    }

    /// Lists the group's runs and records the ids of ours that have no run id yet (matched by metadata).
    private func adoptRuns(groupID: String, publicID: String) throws {
        var found: [(Int, String)] = []
        _ = try client.groupRuns(groupID: groupID) { event in
            if case .state(let state) = event, state.run.metadata?["batch"]?.stringValue == publicID,
               let position = state.run.metadata?["pos"].flatMap(Self.integer) {
                found.append((position, state.run.runID))
            }
            return true
        }
        let adopted = try ledger.adopt(found)
        if adopted > 0 { logger.info("batch adopted runs found in its group", metadata: ["count": "\(adopted)"]) }
    }

    /// Counts an upstream failure; returns true when the batch was failed (fatal error or too many in a row).
    private mutating func handle(_ error: ParallelError) throws -> Bool {
        failures += 1
        logger.warning("batch upstream problem", metadata: ["error": "\(error)"])
        let fatal: Bool
        switch error {
        case .api(let status, _, _, _): fatal = [400, 401, 402, 403, 404, 422].contains(status)
        case .invalidRequest: fatal = true
        default: fatal = false
        }
        if fatal || failures >= BatchRunner.maxConsecutiveFailures {
            try ledger.fail(Self.reason(error))
            return true
        }
        try ledger.upstreamError(Self.recoverableMessage(error))
        let backoff = min(pow(2, Double(failures - 1)) * 0.5, 10)
        _ = stop.wait(timeout: .milliseconds(Int(backoff * 1000)))
        return false
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
