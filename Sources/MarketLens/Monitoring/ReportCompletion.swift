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
            guard let report = try ReportStore.find(id: reportID, on: connection), report.status.isActive
            else { return .alreadyFinished }
            let title = ReportNaming.title(industry: report.industry, region: report.region)
            let base = ReportNaming.slugBase(title)
            var attempt = 0
            while true {
                attempt += 1
                let slug = ReportNaming.slug(base: base)
                do {
                    // A savepoint, so a slug clash undoes only this UPDATE and the transaction goes on.
                    let updated = try connection.transaction { connection in
                        try ReportStore.complete(reportID: reportID, content: content, basis: basis, title: title,
                                                 slug: slug, on: connection)
                    }
                    guard let (updated, head) = updated else { return .alreadyFinished }
                    let url = reportURL(slug: slug)
                    try ReportEventLog.append(.completed(.init(slug: slug, title: title, url: url)), to: reportID,
                                              after: head, dedupeKey: "terminal", on: connection)
                    if let email = updated.email {
                        let message = try ReportEmail.reportReady(
                            title: title, url: url, content: content, manageURL: manageURL(updated.mailToken),
                            renderer: renderer)
                        try EmailOutbox.enqueue(
                            reportID: reportID, kind: "report_ready", key: "report-ready/\(updated.publicID)",
                            to: email, message: message, on: connection)
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
    /// A failed report (not a cancelled one: its owner or the operator chose that) e-mails its owner once, with
    /// the reason and the manage link to retry. `onlyQueued` is for a create that upstream refused.
    @discardableResult
    public func fail(reportID: Int64, reason: String, cancelled: Bool = false, onlyQueued: Bool = false,
                     on connection: Connection) throws -> Outcome {
        var message = SafeText.clean(reason, limit: 500)
        if message.isEmpty { message = cancelled ? "The research run was cancelled." : "The research run failed." }
        return try connection.transaction { connection in
            guard let finished = try ReportStore.finish(
                reportID: reportID, as: cancelled ? .cancelled : .failed, message: message, onlyQueued: onlyQueued,
                on: connection)
            else { return .alreadyFinished }
            try ReportEventLog.append(.failed(.init(message: message)), to: reportID, dedupeKey: "terminal",
                                      on: connection)
            if !cancelled, let email = finished.email {
                let mail = try ReportEmail.reportFailed(
                    title: finished.title, reason: message, manageURL: manageURL(finished.mailToken), renderer: renderer)
                try EmailOutbox.enqueue(
                    reportID: reportID, kind: "report_failed", key: "report-failed/\(finished.publicID)", to: email,
                    message: mail, on: connection)
            }
            return .failed
        }
    }

    /// The owner's manage link for a kept token (nil once it was used or erased).
    func manageURL(_ token: String?) -> String? {
        token.flatMap(ManageToken.init(presented:)).map { $0.url(baseURL: baseURL) }
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
