import Foundation
public import Logging
import ParallelAPI
public import Postgres

/// The operator's repairs behind `marketlens runs resume|retry`, usable without a web server.
public enum RunMaintenance {
    /// What `resume` did with one report.
    public struct Resumed: Sendable, Equatable {
        /// The report's public id.
        public var publicID: String
        /// `completed`, `failed`, `cancelled`, `already finished`, `still running`, or `error: …`.
        public var result: String
    }

    /// Finishes orphaned active runs: those nobody holds a live lease on (or only `publicID`, leased or not).
    /// Each run is polled until it is terminal or `wait` seconds have passed, then completed or failed through
    /// `completion`. `progress` is called after each report.
    public static func resume(publicID: String?, wait: Double, configuration: AppConfiguration,
                              completion: ReportCompletion, logger: Logger, on connection: Connection,
                              progress: (Int, Resumed) -> Void = { _, _ in }) throws -> [Resumed] {
        let rows = try ReportStore.orphanedRuns(publicID: publicID, on: connection)
        let client = try ParallelClient(configuration: UpstreamConfiguration.parallel(configuration), logger: logger)
        let deadline = Date().addingTimeInterval(wait)
        var results: [Resumed] = []
        for row in rows {
            let reportID = row.id
            let runID = row.runID
            var result = "still running"
            while true {
                switch fetch(runID: runID, client: client) {
                case .success(let fetched?):
                    let outcome = try completion.finish(reportID: reportID, run: fetched.0, output: fetched.1,
                                                        on: connection)
                    switch outcome {
                    case .completed?: result = "completed"
                    case .failed?: result = fetched.0.status == .cancelled ? "cancelled" : "failed"
                    case .alreadyFinished?: result = "already finished"
                    case nil: result = "still running"
                    }
                case .success(nil):
                    result = "still running"
                case .failure(let error):
                    result = "error: \(error)"
                }
                guard result == "still running", Date() < deadline else { break }
                Thread.sleep(forTimeInterval: min(configuration.monitor.pollSeconds, max(0, deadline.timeIntervalSinceNow)))
            }
            let resumed = Resumed(publicID: row.publicID, result: result)
            results.append(resumed)
            progress(rows.count, resumed)
        }
        return results
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

    /// Retries a failed or cancelled report as a new report with the same request (industry, region, focus,
    /// processor, visibility, e-mail), created upstream at once. The failed report stays as it is, so its event
    /// log keeps its ending. Returns the new report's public id.
    public static func retry(publicID: String, configuration: AppConfiguration, logger: Logger,
                             on connection: Connection) throws -> String {
        guard let old = try ReportStore.find(publicID: publicID, on: connection) else {
            throw RunMaintenanceError.notFound
        }
        guard old.status == .failed || old.status == .cancelled else { throw RunMaintenanceError.notRetryable(old.status) }
        let creator = ReportCreator(configuration: configuration, logger: logger)
        let client = try ParallelClient(configuration: UpstreamConfiguration.parallel(configuration), logger: logger)
        guard let report = try creator.retry(old, client: nil, connection: connection, parallel: { client }) else {
            throw RunMaintenanceError.notRetryable(old.status)
        }
        if report.status == .failed { throw RunMaintenanceError.createFailed(report.error ?? "refused") }
        return report.publicID
    }
}

/// Why a maintenance command could not do its job; safe to print.
public enum RunMaintenanceError: Error, CustomStringConvertible, Equatable {
    /// No report with that id.
    case notFound
    /// Only failed or cancelled reports can be retried.
    case notRetryable(Report.Status)
    /// Parallel refused the new run.
    case createFailed(String)

    public var description: String {
        switch self {
        case .notFound: "no report with that id"
        case .notRetryable(let status): "the report is \(status.rawValue); only failed or cancelled reports can be retried"
        case .createFailed(let reason): "the new run could not be created: \(reason)"
        }
    }
}

/// Deletes data that has served its purpose (`marketlens prune`).
public enum Pruning {
    /// How many rows each part deleted.
    public struct Counts: Sendable, Equatable {
        public var events = 0
        public var rateLimits = 0
        public var validationCache = 0
        public var webhookDeliveries = 0
    }

    /// Deletes events of finished reports older than `eventsOlderThan` seconds, rate-limit windows older than a day,
    /// validation verdicts older than a week and webhook ids older than a week (Parallel retries for 48 h). Each
    /// part only when asked (nil / false skips it). Events of active reports are kept whatever their age.
    public static func prune(eventsOlderThan: Double?, rateLimits: Bool, validationCache: Bool,
                             webhookDeliveries: Bool, on connection: Connection) throws -> Counts {
        try connection.transaction { connection in
            var counts = Counts()
            if let age = eventsOlderThan {
                counts.events = try connection.execute(
                    """
                    DELETE FROM report_events e USING reports r
                    WHERE e.report_id = r.id AND r.status NOT IN ('queued', 'running')
                      AND e.created_at < now() - make_interval(secs => \(age))
                    """)
            }
            if rateLimits {
                counts.rateLimits = try connection.execute(
                    "DELETE FROM rate_limits WHERE window_start < now() - interval '1 day'")
            }
            if validationCache {
                counts.validationCache = try connection.execute(
                    "DELETE FROM validation_cache WHERE created_at < now() - interval '7 days'")
            }
            if webhookDeliveries {
                counts.webhookDeliveries = try connection.execute(
                    "DELETE FROM webhook_deliveries WHERE received_at < now() - interval '7 days'")
            }
            return counts
        }
    }

    /// Parses `90d`, `12h`, `30m` or `45s` (a plain number is days) into seconds.
    public static func parseAge(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let last = trimmed.last else { return nil }
        let units: [Character: Double] = ["d": 86_400, "h": 3600, "m": 60, "s": 1]
        if let unit = units[last], let value = Double(trimmed.dropLast()), value >= 0 { return value * unit }
        if let value = Double(trimmed), value >= 0 { return value * 86_400 }
        return nil
    }
}
