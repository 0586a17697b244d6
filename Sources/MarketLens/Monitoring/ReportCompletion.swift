import Foundation
import Logging
public import ParallelAPI
public import Postgres

/// Finishes a report exactly once, whoever gets there first (the monitoring thread, the webhook,
/// `marketlens runs resume`): each transition is one conditional `UPDATE … RETURNING` inside one transaction with
/// its side effects (the terminal event, the e-mail enqueue), which happen only when that UPDATE returned the row.
public struct ReportCompletion: Sendable {
    /// How a finishing attempt ended.
    public enum Outcome: Sendable, Equatable {
        /// This call completed the report, published at `slug`.
        case completed(slug: String)
        /// This call marked the report failed or cancelled.
        case failed
        /// The report had already left `queued`/`running` (someone else finished it): nothing was done.
        case alreadyFinished
    }

    /// Public origin for report links (`BASE_URL`).
    public let baseURL: String
    /// Renders the e-mail templates.
    public let renderer: PageRenderer

    /// A completion step that links to `baseURL` and renders mail with `renderer`.
    public init(baseURL: String, renderer: PageRenderer) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.renderer = renderer
    }

    /// The public URL of a report's page.
    public func reportURL(slug: String) -> String { "\(baseURL)/r/\(slug)" }

    /// Completes report `reportID` (internal id) with `result`: content, basis, title and a fresh slug; appends the
    /// `completed` event and enqueues the "report ready" e-mail (when the report has an address), all in one
    /// transaction. Returns `.alreadyFinished` when it was no longer active.
    @discardableResult
    public func complete(reportID: Int64, result: RunOutput, on connection: Connection) throws -> Outcome {
        let content = Self.content(of: result)
        let basis = try PostgresJSON(encoding: result.basis)
        return try connection.transaction { connection in
            guard let row = try connection.queryFirst(
                "SELECT industry, region, status FROM reports WHERE id = \(reportID) FOR UPDATE"),
                Report.Status(rawValue: try row.string("status"))?.isActive == true
            else { return .alreadyFinished }
            let title = ReportNaming.title(industry: try row.string("industry"), region: try row.string("region"))
            let base = ReportNaming.slugBase(title)
            var attempt = 0
            while true {
                attempt += 1
                let slug = ReportNaming.slug(base: base)
                do {
                    // A savepoint, so a slug clash undoes only this UPDATE and the transaction goes on.
                    let updated = try connection.transaction { connection in
                        try connection.queryFirst(
                            """
                            UPDATE reports SET status = 'completed', content = \(content), basis = \(basis),
                                title = \(title), slug = \(slug), completed_at = now(), error = NULL,
                                progress_meter = 100, lease_owner = NULL, lease_expires_at = NULL
                            WHERE id = \(reportID) AND status IN ('queued', 'running')
                            RETURNING public_id, email
                            """)
                    }
                    guard let updated else { return .alreadyFinished }
                    let url = reportURL(slug: slug)
                    try ReportEventLog.append(.completed(.init(slug: slug, title: title, url: url)), to: reportID,
                                              dedupeKey: "terminal", on: connection)
                    if let email = try updated.optionalString("email") {
                        let message = try ReportEmail.reportReady(
                            title: title, url: url, content: content, renderer: renderer)
                        try EmailOutbox.enqueue(
                            reportID: reportID, key: "report-ready/\(try updated.string("public_id"))", to: email,
                            message: message, on: connection)
                    }
                    return .completed(slug: slug)
                } catch let error as PostgresError where error.isUniqueViolation && attempt < 8
                    && (error.constraint ?? "").contains("slug") {
                    continue
                }
            }
        }
    }

    /// Marks report `reportID` failed (or cancelled) with a safe, truncated `reason`, appending the `failed` event.
    @discardableResult
    public func fail(reportID: Int64, reason: String, cancelled: Bool = false, on connection: Connection) throws -> Outcome {
        let status = cancelled ? "cancelled" : "failed"
        var message = SafeText.clean(reason, limit: 500)
        if message.isEmpty { message = cancelled ? "The research run was cancelled." : "The research run failed." }
        return try connection.transaction { connection in
            guard try connection.queryFirst(
                """
                UPDATE reports SET status = \(status), error = \(message), completed_at = now(),
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(reportID) AND status IN ('queued', 'running')
                RETURNING id
                """) != nil
            else { return .alreadyFinished }
            try ReportEventLog.append(.failed(.init(message: message)), to: reportID, dedupeKey: "terminal",
                                      on: connection)
            return .failed
        }
    }

    /// Finishes a report from a run that is no longer active: completed with `output`, failed with the run's
    /// error, or cancelled. Nil when the run is completed but `output` is missing (fetch `/result` first) or the
    /// run is not in a terminal state.
    public func finish(reportID: Int64, run: TaskRun, output: RunOutput?, on connection: Connection) throws -> Outcome? {
        switch run.status {
        case .completed:
            guard let output else { return nil }
            return try complete(reportID: reportID, result: output, on: connection)
        case .failed:
            return try fail(reportID: reportID, reason: run.error?.message ?? "The research run failed.", on: connection)
        case .cancelled:
            return try fail(reportID: reportID, reason: "The research run was cancelled.", cancelled: true,
                            on: connection)
        default:
            return nil
        }
    }

    /// The report text: markdown for text output; JSON output pretty-printed in a code block.
    static func content(of output: RunOutput) -> String {
        switch output.content {
        case .text(let text):
            return text
        case .json(let value):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let json = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return "```json\n\(json)\n```\n"
        }
    }
}
