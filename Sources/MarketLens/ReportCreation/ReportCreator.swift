public import Foundation
public import Logging
public import ParallelAPI
public import Postgres

/// The Chat check said no: the request does not describe a researchable market.
public struct InputRejected: Error, Sendable {
    public var verdict: ValidationVerdict
}

/// An internal inconsistency while creating a report (answered as a plain 500).
struct ReportCreationFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { "report creation failed: \(reason)" }
}

/// A recent, public, completed report for the same request (product.md §7.2).
public struct IdenticalReport: Sendable, Equatable {
    public var publicID: String
    public var slug: String
    public var title: String
    public var completedAt: Date
}

/// What a create request led to.
public enum CreationOutcome: Sendable {
    /// A new report: queued (possibly `createUncertain`) or, after a definite upstream refusal, failed; with
    /// the owner's manage token, which exists nowhere else in plaintext (show it once).
    case created(Report, ManageToken)
    /// Nothing was created: an identical report is offered instead.
    case existing(IdenticalReport)
}

/// Turns a validated request into a report and an upstream run (product.md §7.1-§7.3): identical-report offer,
/// rate limits, the Chat check, the `queued` row, then the run.
public struct ReportCreator {
    public var configuration: AppConfiguration
    public var checker: InputChecker
    public var logger: Logger
    /// Fails a report whose create upstream refused, e-mailing its owner like any failure; without it (tests) the
    /// report is failed without e-mail.
    public var completion: ReportCompletion?

    /// How far back a completed identical report is offered.
    public static let identicalWindowDays = 30

    /// Creates a creator for the app's configuration.
    public init(configuration: AppConfiguration, logger: Logger, completion: ReportCompletion? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.completion = completion
        checker = InputChecker(model: configuration.validationModel, timeout: configuration.validationTimeout,
                               logger: logger)
    }

    /// Creates a report for `request`, counted against `client`'s limits (its address or its API key).
    ///
    /// Throws `RateLimitExceeded` (nothing created), `InputCheckUnavailable` (nothing created: never fail open),
    /// `InputRejected` (nothing created), or a database error. `fresh` skips the identical-report offer. (A retry
    /// skips the Chat check: its input passed it already; see `retry`.)
    public func create(
        _ request: ResearchRequest, client: RateSubject, fresh: Bool, connection: Connection,
        parallel: () throws -> ParallelClient
    ) throws -> CreationOutcome {
        if !fresh, let identical = try ReportStore.findIdentical(request, withinDays: Self.identicalWindowDays,
                                                                on: connection) {
            return .existing(identical)
        }
        let limits = RateLimit.reportCreation(for: client, configuration: configuration)
        // Refuse early, before paying for a chat call; the transaction below is the authority.
        try RateLimiter.check(limits, on: connection)
        let (verdict, _) = try checker.verdict(for: request, connection: connection, client: parallel) {
            try connection.transaction { try RateLimiter.consume(RateLimit.validationChecks(for: client, configuration: configuration), on: $0) }
        }
        guard verdict.isValid else { throw InputRejected(verdict: verdict) }
        let publicID = ReportStore.newPublicID()
        let token = ManageToken.generate()
        let reportID = try connection.transaction { connection in
            try RateLimiter.consume(limits, on: connection)
            return try ReportStore.insert(request, publicID: publicID, processor: configuration.processor,
                                          token: token, on: connection)
        }
        try startRun(reportID: reportID, publicID: publicID, input: runInput(for: request, publicID: publicID),
                     connection: connection, parallel: parallel)
        guard let report = try ReportStore.find(publicID: publicID, on: connection) else {
            throw ReportCreationFailure(reason: "report vanished after creation")
        }
        return .created(report, token)
    }

    /// Retries failed or cancelled report `old` as a new report with the same request and owner (its manage
    /// link manages the retry too), counted against `client`'s limits when given (the operator's CLI is not
    /// limited). Nil when `old` cannot be retried (still active, completed or deleted).
    public func retry(_ old: Report, client: String?, connection: Connection,
                      parallel: () throws -> ParallelClient) throws -> Report? {
        let publicID = ReportStore.newPublicID()
        let inserted = try connection.transaction { connection -> Report? in
            if let client {
                try RateLimiter.consume(RateLimit.reportCreation(client: client, configuration: configuration),
                                        on: connection)
            }
            return try ReportStore.insertRetry(of: old.id, publicID: publicID, on: connection)
        }
        guard let inserted else { return nil }
        try startRun(reportID: inserted.id, publicID: publicID,
                     input: ReportRunRequest.input(for: inserted, configuration: configuration),
                     connection: connection, parallel: parallel)
        return try ReportStore.find(id: inserted.id, on: connection)
    }

    /// The create body of the run (upstream-api.md §2.1).
    public func runInput(for request: ResearchRequest, publicID: String) -> RunInput {
        ReportRunRequest.input(
            for: request, publicID: publicID, processor: configuration.processor, configuration: configuration)
    }

    /// Creates the run and records the outcome on the row: the run id and a `queued` event; or
    /// `create_uncertain` (the monitor reconciles by `metadata.report_id`, nothing is retried here); or, on a
    /// definite refusal, `failed` with a reason safe to show.
    func startRun(reportID: Int64, publicID: String, input: RunInput, connection: Connection,
                  parallel: () throws -> ParallelClient) throws {
        let queued = ReportEvent.status(.init(state: "queued", message: "Research queued"))
        do {
            let run = try parallel().createRun(input)
            do {
                try connection.transaction { connection in
                    try ReportStore.recordRun(run.runID, reportID: reportID, on: connection)
                    try ReportEventLog.append(queued, to: reportID, dedupeKey: "create:queued", on: connection)
                }
            } catch {
                // The run exists but its id could not be stored: flag the row so it is reconciled, not re-created.
                logger.error("run created but not recorded", metadata: [
                    "report": "\(publicID)", "run": "\(run.runID)", "error": "\(error)",
                ])
                try? ReportStore.markCreateUncertain(reportID: reportID, on: connection)
                throw error
            }
            logger.info("report queued", metadata: ["report": "\(publicID)", "run": "\(run.runID)"])
        } catch let error as ParallelError {
            if case .createUncertain = error {
                logger.warning("run creation uncertain; left for reconciliation", metadata: [
                    "report": "\(publicID)", "error": "\(error)",
                ])
                try connection.transaction { connection in
                    try ReportStore.markCreateUncertain(reportID: reportID, on: connection)
                    try ReportEventLog.append(queued, to: reportID, dedupeKey: "create:queued", on: connection)
                }
                return
            }
            let reason = Self.refusalReason(error)
            if error.status == 401 || error.status == 402 || error.status == 403 {
                logger.error("Parallel refused run creation: check the key, credit and processor", metadata: [
                    "report": "\(publicID)", "error": "\(error)",
                ])
            } else {
                logger.warning("run creation failed", metadata: ["report": "\(publicID)", "error": "\(error)"])
            }
            if let completion {
                try completion.fail(reportID: reportID, reason: reason, onlyQueued: true, on: connection)
            } else {
                try Self.markFailed(reportID: reportID, reason: reason, on: connection)
            }
        }
    }

    /// Marks a still-queued report failed with `reason` and logs the `failed` event, once.
    static func markFailed(reportID: Int64, reason: String, on connection: Connection) throws {
        try connection.transaction { connection in
            if try ReportStore.finish(reportID: reportID, as: .failed, message: reason, onlyQueued: true,
                                      on: connection) != nil {
                try ReportEventLog.append(.failed(.init(message: reason)), to: reportID, dedupeKey: "create:failed",
                                          on: connection)
            }
        }
    }

    /// A sentence for the visitor about a definite refusal; no upstream text (it could carry anything).
    static func refusalReason(_ error: ParallelError) -> String {
        let prefix = "The research could not be started: "
        switch error.status {
        case 401: return prefix + "the research service did not accept our credentials. The operator has been alerted."
        case 402: return prefix + "the research account has run out of credit. The operator has been alerted."
        case 403: return prefix + "the research service does not offer the configured processor. The operator has been alerted."
        case 400, 422: return prefix + "the research service rejected the request."
        case 429: return prefix + "the research service is busy. Please retry in a few minutes."
        case .some(let status) where status >= 500: return prefix + "the research service is temporarily unavailable. Please retry in a few minutes."
        default:
            if case .transport = error { return prefix + "the research service could not be reached. Please retry in a few minutes." }
            return prefix + "an unexpected error occurred. Please retry."
        }
    }
}
