import Foundation
import Logging
import ParallelAPI
import Postgres

/// Reports whose upstream create timed out (`create_uncertain`, no `task_run_id`): a run may exist, and Parallel
/// has no list-runs call to find it. After a grace period the create is retried once with the same
/// `metadata.report_id` (upstream-api.md §1.4); a webhook carrying that id can also resolve it first. `next_poll_at`
/// records when the retry was made, so no process retries twice; if the retry is uncertain too and nothing
/// resolves the report within another grace period, it fails with a clear message.
enum UncertainCreates {
    /// Handles at most one due report per call (a create can take a while); returns whether one was handled.
    @discardableResult
    static func reconcileOne(configuration: AppConfiguration, completion: ReportCompletion,
                             logger: Logger, on connection: Connection) throws -> Bool {
        let grace = configuration.monitor.createGraceSeconds
        // Retried long ago and still unresolved: give up.
        for id in try ReportStore.staleUncertainCreates(grace: grace, on: connection) {
            try completion.fail(reportID: id, reason: "The research run could not be started. Please try again.",
                                on: connection)
        }
        guard let report = try ReportStore.takeUncertainCreate(grace: grace, on: connection) else { return false }
        let client = try ParallelClient(configuration: UpstreamConfiguration.parallel(configuration), logger: logger)
        let input = ReportRunRequest.input(for: report, configuration: configuration)
        let created: Result<TaskRun, ParallelError>
        do throws(ParallelError) {
            created = .success(try client.createRun(input))
        } catch {
            created = .failure(error)
        }
        switch created {
        case .success(let run):
            try attach(runID: run.runID, toReport: report.publicID, on: connection)
            logger.info("Uncertain create retried", metadata: ["report_id": "\(report.id)"])
        case .failure(.createUncertain(let inner)):
            logger.warning("Retried create is uncertain too", metadata: ["report_id": "\(report.id)", "error": "\(inner)"])
        case .failure(let error) where error.isRetryable:
            // Nothing new was created; the first create may still show up through a webhook until the stale limit.
            logger.warning("Retried create failed", metadata: ["report_id": "\(report.id)", "error": "\(error)"])
        case .failure(let error):
            try completion.fail(reportID: report.id, reason: "The research run could not be started.", on: connection)
            logger.warning("Retried create refused", metadata: ["report_id": "\(report.id)", "error": "\(error)"])
        }
        return true
    }

    /// Records `runID` as the run of the report with public id `publicID` if it has none yet (a webhook or the
    /// retry resolved an uncertain create). Returns the report's internal id when attached.
    @discardableResult
    static func attach(runID: String, toReport publicID: String, on connection: Connection) throws -> Int64? {
        try ReportStore.attach(runID: runID, toReport: publicID, on: connection)
    }
}

extension ReportMonitor {
    func reconcileUncertainCreates(on connection: Connection) throws {
        try UncertainCreates.reconcileOne(configuration: configuration, completion: completion,
                                          logger: logger, on: connection)
    }
}
