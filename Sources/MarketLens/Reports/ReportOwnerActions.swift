public import Foundation
public import Logging
public import ParallelAPI
public import Postgres

/// What a report's owner (the holder of its manage token) can do, shared by the manage page, the JSON API and
/// the operator's CLI, so each rule exists once. Authorisation is the caller's: it found the report by its
/// token (or is the operator).
public struct ReportOwnerActions {
    /// Why an action was refused; `message` is safe to show.
    public enum Refusal: Error, Equatable {
        /// The report was deleted (410).
        case gone
        /// The action does not fit the report's state (409), e.g. cancelling a finished report.
        case conflict(String)
    }

    /// The app's configuration (limits, processor, base URL).
    public var configuration: AppConfiguration
    /// Finishes reports (the cancel transition goes through it, so viewers get the terminal event).
    public var completion: ReportCompletion
    public var logger: Logger

    /// Owner actions for `configuration`.
    public init(configuration: AppConfiguration, completion: ReportCompletion, logger: Logger) {
        self.configuration = configuration
        self.completion = completion
        self.logger = logger
    }

    /// Cancels a queued or running report: state `cancelled`, viewers get the terminal event, the monitor stops
    /// following it at its next lease renewal. Parallel has no cancel call for task runs (upstream-api.md
    /// §2.5), so the upstream run is abandoned, not stopped.
    public func cancel(_ report: Report, on connection: Connection) throws {
        if report.isDeleted { throw Refusal.gone }
        guard report.status.isActive else {
            throw Refusal.conflict("Only a report that is still running can be cancelled.")
        }
        let outcome = try completion.fail(reportID: report.id, reason: "Cancelled by its owner.", cancelled: true,
                                          on: connection)
        guard outcome == .failed else { throw Refusal.conflict("The report finished before it could be cancelled.") }
        logger.info("report cancelled by its owner", metadata: ["report": "\(report.publicID)"])
    }

    /// Retries a failed or cancelled report as a new report with the same request and owner; `client` is
    /// charged against the creation limits (nil for the operator). Returns the new report.
    public func retry(_ report: Report, client: String?, on connection: Connection,
                      parallel: () throws -> ParallelClient) throws -> Report {
        if report.isDeleted { throw Refusal.gone }
        guard report.status == .failed || report.status == .cancelled else {
            throw Refusal.conflict("Only a failed or cancelled report can be retried.")
        }
        let creator = ReportCreator(configuration: configuration, logger: logger, completion: completion)
        guard let retried = try creator.retry(report, client: client, connection: connection, parallel: parallel)
        else { throw Refusal.conflict("This report cannot be retried.") }
        logger.info("report retried by its owner", metadata: ["report": "\(report.publicID)",
                                                                "retry": "\(retried.publicID)"])
        return retried
    }

    /// Public (listed in the library once complete) or unlisted (reachable by its link only).
    public func setVisibility(_ visibility: ResearchRequest.Visibility, of report: Report,
                              on connection: Connection) throws {
        if report.isDeleted { throw Refusal.gone }
        guard try ReportStore.setVisibility(visibility, reportID: report.id, on: connection) else {
            throw Refusal.gone
        }
    }

    /// No more e-mail: the address is erased at once and unsent messages are dropped. Idempotent.
    public func stopEmails(of report: Report, on connection: Connection) throws {
        if report.isDeleted { throw Refusal.gone }
        _ = try ReportStore.stopEmails(reportID: report.id, on: connection)
    }

    /// Deletes the report for good (a running one is cancelled first, so viewers see the end): 410 from then on.
    public func delete(_ report: Report, on connection: Connection) throws {
        if report.isDeleted { throw Refusal.gone }
        if report.status.isActive {
            _ = try completion.fail(reportID: report.id, reason: "Deleted by its owner.", cancelled: true,
                                    on: connection)
        }
        guard try ReportStore.delete(reportID: report.id, on: connection) else { throw Refusal.gone }
        logger.info("report deleted by its owner", metadata: ["report": "\(report.publicID)"])
    }
}

extension ReportOwnerActions.Refusal: CustomStringConvertible {
    public var description: String {
        switch self {
        case .gone: "This report was deleted."
        case .conflict(let message): message
        }
    }
}
