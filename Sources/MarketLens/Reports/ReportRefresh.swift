public import Foundation
public import Logging
public import ParallelAPI
public import Postgres

/// Refreshing a report (issue 16): a new upstream run of the same request, which becomes the next version of
/// the report's family when it completes. Its owner may refresh at any time; anyone else once the family's
/// newest version is older than `MARKETLENS_REFRESH_AFTER_DAYS`. Shared by the report page's button, the manage
/// page and `POST /api/v1/reports/{id}/refresh`, so each rule exists once.
public struct ReportRefresh {
    /// Why a refresh was refused; `message` is safe to show.
    public enum Refusal: Error, Equatable {
        /// Deleted by its owner (410).
        case gone
        /// Not a completed report (409).
        case notCompleted
        /// A refresh of the family is already running (409); its public id, to follow it.
        case running(publicID: String)
        /// Only the owner may refresh before `allowedFrom` (403).
        case tooRecent(allowedFrom: Date)

        /// The sentence for the visitor.
        public var message: String {
            switch self {
            case .gone: "This report was deleted by its owner."
            case .notCompleted: "Only a completed report can be refreshed."
            case .running: "A refresh of this report is already running."
            case .tooRecent(let date):
                "This report is recent: only its owner can refresh it before \(ReaderDates.human(date))."
            }
        }
    }

    public var configuration: AppConfiguration
    public var completion: ReportCompletion?
    public var logger: Logger

    /// Refreshes for `configuration`; `completion` fails a refresh whose create upstream refused.
    public init(configuration: AppConfiguration, completion: ReportCompletion?, logger: Logger) {
        self.configuration = configuration
        self.completion = completion
        self.logger = logger
    }

    /// Starts a refresh of `report`'s family, run by `client` (its API key or address, charged against the creation
    /// limits like a new report; nil for the operator); `byOwner` when the request carried the family's manage token. Returns the
    /// new report (queued). Throws `Refusal`, `RateLimitExceeded` (nothing created) or a database error.
    public func refresh(_ report: Report, byOwner: Bool, client: RateSubject?, on connection: Connection,
                        parallel: () throws -> ParallelClient) throws -> Report {
        if report.isDeleted { throw Refusal.gone }
        guard report.status == .completed else { throw Refusal.notCompleted }
        let publicID = ReportStore.newPublicID()
        let days = configuration.refreshAfterDays
        let inserted = try connection.transaction { connection -> Report in
            // The same lock the version numbering takes (migration 0011): one refresh of a family starts at a time.
            try connection.execute(
                "SELECT pg_advisory_xact_lock(16, (\(report.familyID) % 2147483647)::integer)")
            if let running = try ReportVersions.activeRefresh(familyID: report.familyID, on: connection) {
                throw Refusal.running(publicID: running.publicID)
            }
            let newest = try ReportVersions.newestCompletion(familyID: report.familyID, on: connection)
            if !byOwner, let newest, !ReportVersions.isStale(newest: newest, refreshAfterDays: days) {
                throw Refusal.tooRecent(allowedFrom: newest.addingTimeInterval(Double(days) * 86_400))
            }
            if let client {
                try RateLimiter.consume(RateLimit.reportCreation(for: client, configuration: configuration),
                                        on: connection)
            }
            guard let inserted = try ReportStore.insertRefresh(of: report.id, publicID: publicID, on: connection)
            else { throw Refusal.gone }
            return inserted
        }
        let creator = ReportCreator(configuration: configuration, logger: logger, completion: completion)
        try creator.startRun(reportID: inserted.id, publicID: publicID,
                             input: ReportRunRequest.input(for: inserted, configuration: configuration),
                             connection: connection, parallel: parallel)
        logger.info("report refreshed", metadata: ["report": "\(report.publicID)", "refresh": "\(publicID)",
                                                    "by_owner": "\(byOwner)"])
        return try ReportStore.find(id: inserted.id, on: connection) ?? inserted
    }
}

extension ReportRefresh.Refusal: CustomStringConvertible {
    public var description: String { message }
}
