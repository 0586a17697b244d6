import Foundation
import Logging
import ParallelAPI
import Postgres
import Synchronization

/// Shared between the monitoring thread and one follower thread: the request to stop, and whether it ended.
/// Atomics, because the two threads touch it without any other synchronisation.
final class FollowHandle: Sendable {
    let reportID: Int64
    let runID: String
    private let stopFlag = Atomic<Bool>(false)
    private let doneFlag = Atomic<Bool>(false)

    init(reportID: Int64, runID: String) {
        self.reportID = reportID
        self.runID = runID
    }

    /// Asks the follower to stop (shutdown, or the lease was lost).
    func requestStop() { stopFlag.store(true, ordering: .relaxed) }
    var isStopRequested: Bool { stopFlag.load(ordering: .relaxed) }
    func markDone() { doneFlag.store(true, ordering: .releasing) }
    var isDone: Bool { doneFlag.load(ordering: .acquiring) }
}

/// Follows one report's upstream run to its end on the calling thread: stores each event once, falls back to
/// polling when the stream is unavailable, and finishes the report through `ReportCompletion`. Creates its own
/// database connection and Parallel client, so it must be created and used on one thread.
struct ReportRunFollower {
    let reportID: Int64
    let runID: String
    let configuration: AppConfiguration
    let completion: ReportCompletion
    let logger: Logger
    let shouldStop: () -> Bool

    /// How following ended.
    enum Ending: Equatable {
        /// The report is finished (by us or someone else).
        case finished
        /// Stopped on request before the run ended.
        case stopped
    }

    /// Follows the stream, then polls if needed, until the report is finished or a stop is requested.
    func run() throws -> Ending {
        let database = DatabaseSession(url: configuration.databaseURL)
        let client = try ParallelClient(configuration: UpstreamConfiguration.parallel(configuration), logger: logger)
        let follower = RunEventFollower(policy: UpstreamConfiguration.followPolicy(configuration.monitor), logger: logger)
        var storeFailures = 0
        let outcome = follower.follow(runID: runID, source: client, shouldStop: shouldStop) { update in
            guard case .event(let event, _) = update, let mapped = RunEventMapping.map(event) else { return }
            do {
                _ = try database.withConnection { try ReportProgress.record(mapped, reportID: reportID, on: $0) }
            } catch {
                // The event is lost for the log only if it is not replayed; a reconnect replays messages and stats.
                storeFailures += 1
                logger.warning("Storing a run event failed", metadata: [
                    "report_id": "\(reportID)", "error": "\(error)", "failures": "\(storeFailures)",
                ])
            }
        }
        switch outcome {
        case .stopped:
            return .stopped
        case .finished(let run, let output):
            if try finish(run: run, output: output, database: database) { return .finished }
        case .gaveUp(let error, _):
            logger.notice("Run event stream unavailable, polling", metadata: [
                "report_id": "\(reportID)", "error": "\(error)",
            ])
        }
        return try poll(client: client, database: database)
    }

    /// GETs the run every `pollSeconds` until it is terminal and the report finished, or a stop is requested.
    func poll(client: ParallelClient, database: DatabaseSession) throws -> Ending {
        var notFound = 0
        while !shouldStop() {
            switch Self.fetch(runID: runID, client: client) {
            case .success(let fetched):
                notFound = 0
                if let fetched, try finish(run: fetched.0, output: fetched.1, database: database) {
                    return .finished
                }
            case .failure(let error):
                if case .api(404, _, _, _) = error {
                    notFound += 1
                    if notFound >= 3 {
                        try database.withConnection {
                            _ = try completion.fail(reportID: reportID, reason: "The research run is unknown upstream.",
                                                    on: $0)
                        }
                        return .finished
                    }
                }
                logger.warning("Polling the run failed", metadata: ["report_id": "\(reportID)", "error": "\(error)"])
            }
            if try isFinished(database: database) { return .finished }
            if pause(configuration.monitor.pollSeconds) { return .stopped }
        }
        return .stopped
    }

    /// GETs the run; when it is terminal returns it (with the output of a completed run), nil while it is active.
    static func fetch(runID: String, client: ParallelClient) -> Result<(TaskRun, RunOutput?)?, ParallelError> {
        do throws(ParallelError) {
            let run = try client.retrieveRun(runID)
            guard run.status.isTerminal else { return .success(nil) }
            guard run.status == .completed else { return .success((run, nil)) }
            let result = try client.result(runID: runID, timeout: 0)
            return .success((result.run, result.output))
        } catch {
            return .failure(error)
        }
    }

    /// Finishes the report from a non-active run. False when that was not possible yet (output missing, or a
    /// status such as `action_required` that is not terminal): the caller polls on.
    func finish(run: TaskRun, output: RunOutput?, database: DatabaseSession) throws -> Bool {
        guard let outcome = try database.withConnection({
            try completion.finish(reportID: reportID, run: run, output: output, on: $0)
        }) else { return false }
        logger.info("Report finished", metadata: [
            "report_id": "\(reportID)", "run_status": "\(run.status)", "outcome": "\(outcome)",
        ])
        return true
    }

    private func isFinished(database: DatabaseSession) throws -> Bool {
        try database.withConnection { connection in
            try ReportStore.status(of: reportID, on: connection)?.isActive != true
        }
    }

    /// Sleeps `seconds` in short slices; true when a stop was requested meanwhile.
    private func pause(_ seconds: Double) -> Bool {
        var remaining = seconds
        while remaining > 0 {
            if shouldStop() { return true }
            let slice = min(remaining, 0.1)
            Thread.sleep(forTimeInterval: slice)
            remaining -= slice
        }
        return shouldStop()
    }
}
