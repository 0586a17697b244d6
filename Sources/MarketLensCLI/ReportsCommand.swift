import ArgumentParser
import Foundation
import MarketLens
import Postgres

/// `marketlens reports list|show|hide|publish|unlist|cancel|stop-emails|delete`: moderation of reports from the
/// shell; the owner's controls go through the same `ReportOwnerActions` as the manage page.
/// E-mail addresses are never printed: only whether a report has one.
struct ReportsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "List, inspect, hide, publish, unlist, cancel and delete reports, and stop their e-mails.",
        subcommands: [List.self, Show.self, Hide.self, Publish.self, Unlist.self, Cancel.self, StopEmails.self,
                      Delete.self])

    struct Unlist: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a report unlisted: reachable by its link only, not in the library.")

        @Argument(help: "The report's public id (rpt_…) or slug.")
        var report: String

        func run() throws {
            try ReportsCommand.asOwner(report, done: "Unlisted") { try $0.setVisibility(.unlisted, of: $1, on: $2) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a queued or running report (viewers see the end; the upstream run is abandoned).")

        @Argument(help: "The report's public id (rpt_…) or slug.")
        var report: String

        func run() throws {
            try ReportsCommand.asOwner(report, done: "Cancelled") { try $0.cancel($1, on: $2) }
        }
    }

    struct StopEmails: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop-emails", abstract: "Stop a report's e-mails: erase its address, drop unsent mail.")

        @Argument(help: "The report's public id (rpt_…) or slug.")
        var report: String

        func run() throws {
            try ReportsCommand.asOwner(report, done: "E-mails stopped for") { try $0.stopEmails(of: $1, on: $2) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List reports, newest first.")

        @Option(help: "Only this status: queued, running, completed, failed or cancelled.")
        var status: String?

        @Option(help: "At most this many rows (1 to 10000).")
        var limit = 50

        @Option(help: "Full-text search (same syntax as the library search box).")
        var search: String?

        func validate() throws {
            if let status, Report.Status(rawValue: status) == nil {
                throw ValidationError("--status must be one of queued, running, completed, failed, cancelled")
            }
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() throws {
            let connection = try ReportsCommand.connect()
            var conditions: [Query] = ["true"]
            if let status { conditions.append("status = \(status)") }
            if let search, !search.isEmpty { conditions.append("search @@ websearch_to_tsquery('english', \(search))") }
            let rows = try connection.query(
                """
                SELECT public_id, status, visibility, hidden, email IS NOT NULL AS has_email, slug, title,
                       coalesce(completed_at, created_at) AS at
                FROM reports WHERE \(Query.joined(conditions, separator: " AND "))
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """)
            Console.table(
                ["id", "status", "visibility", "hidden", "e-mail", "date", "slug", "title"],
                try rows.map { row in
                    [
                        try row.string("public_id"), try row.string("status"), try row.string("visibility"),
                        try row.bool("hidden") ? "hidden" : "-", try row.bool("has_email") ? "yes" : "no",
                        try row.date("at").formatted(.iso8601), try row.optionalString("slug") ?? "-",
                        ReportsCommand.shorten(try row.string("title"), to: 60),
                    ]
                })
            Console.line("\(rows.count) report(s)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one report by its id or slug.")

        @Argument(help: "The report's public id (rpt_…) or slug.")
        var report: String

        func run() throws {
            let connection = try ReportsCommand.connect()
            let report = try ReportsCommand.find(report, on: connection)
            let counts = try connection.queryFirst(
                """
                SELECT (SELECT count(*) FROM report_events WHERE report_id = \(report.id)) AS events,
                       (SELECT count(*) FROM email_outbox WHERE report_id = \(report.id)) AS emails
                """)
            let citations = ReportCitations(content: report.content ?? "", basis: ReportBasis(json: report.basis?.text))
            let iso: (Date?) -> String = { $0?.formatted(.iso8601) ?? "-" }
            let fields: [(String, String)] = [
                ("id", report.publicID), ("status", report.status.rawValue), ("title", report.title),
                ("slug", report.slug ?? "-"), ("industry", report.industry), ("region", report.region.isEmpty ? "-" : report.region),
                ("focus", report.focus.isEmpty ? "-" : shorten(report.focus, to: 200)), ("processor", report.processor),
                ("task run", report.taskRunID ?? "-"), ("visibility", report.visibility),
                ("hidden", report.hidden ? "yes" : "no"), ("e-mail", report.hasEmail ? "yes" : "no"),
                ("progress", String(format: "%.0f%%", report.progressMeter)),
                ("sources", "\(report.sourcesRead) read of \(report.sourcesConsidered) considered"),
                ("created", iso(report.createdAt)), ("started", iso(report.startedAt)), ("completed", iso(report.completedAt)),
                ("content", report.content.map { "\($0.utf8.count) bytes" } ?? "-"),
                ("references", "\(citations.references.count) numbered, \(citations.consulted.count) other sources consulted"),
                ("events", String(try counts?.int("events") ?? 0)), ("e-mails queued", String(try counts?.int("emails") ?? 0)),
                ("error", report.error ?? "-"),
            ]
            let width = fields.map(\.0.count).max() ?? 0
            for (name, value) in fields {
                Console.line(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
            }
        }
    }

    struct Hide: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hide a report: it disappears from the library, its page and the API (404).")

        @Argument(help: "The report's public id (rpt_…) or slug.")
        var report: String

        func run() throws {
            let connection = try ReportsCommand.connect()
            let found = try ReportsCommand.find(report, on: connection)
            try ReportStore.setHidden(true, reportID: found.id, on: connection)
            Console.line("Hidden \(found.publicID).")
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a report: unhide it and make it public (listed in the library once completed).")

        @Argument(help: "The report's public id (rpt_…) or slug.")
        var report: String

        func run() throws {
            let connection = try ReportsCommand.connect()
            let found = try ReportsCommand.find(report, on: connection)
            try ReportStore.setHidden(false, reportID: found.id, on: connection)
            Console.line("Published \(found.publicID)" + (found.status == .completed ? "." : " (it shows once completed)."))
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a report with its events and queued e-mails. Cannot be undone.",
            discussion: "Refuses to run without --yes.")

        @Argument(help: "The report's public id (rpt_…) or slug.")
        var report: String

        @Flag(help: "Really delete.")
        var yes = false

        func run() throws {
            guard yes else {
                throw CommandFailure("refusing to delete without --yes (this removes the report, its events and e-mails)")
            }
            let connection = try ReportsCommand.connect()
            let found = try ReportsCommand.find(report, on: connection)
            let removed = try connection.transaction { connection in
                let counts = try connection.queryFirst(
                    """
                    SELECT (SELECT count(*) FROM report_events WHERE report_id = \(found.id)) AS events,
                           (SELECT count(*) FROM email_outbox WHERE report_id = \(found.id)) AS emails
                    """)
                try ReportStore.purge(reportID: found.id, on: connection)
                return (try counts?.int("events") ?? 0, try counts?.int("emails") ?? 0)
            }
            Console.line("Deleted \(found.publicID) with \(removed.0) event(s) and \(removed.1) e-mail(s).")
        }
    }

    /// Acts as the owner of report `key` (through the same `ReportOwnerActions` as the manage page), then says
    /// `done` and the report's id; a refusal (gone, finished) is a clear failure.
    static func asOwner(_ key: String, done: String,
                        _ action: (ReportOwnerActions, Report, Connection) throws -> Void) throws {
        let (configuration, logger) = try CommandEnvironment.load()
        let completion = ReportCompletion(
            baseURL: configuration.baseURL, renderer: try PageRenderer(directory: configuration.templatesDirectory))
        let actions = ReportOwnerActions(configuration: configuration, completion: completion, logger: logger)
        let connection = try Connection(url: configuration.databaseURL)
        let report = try find(key, on: connection)
        do {
            try action(actions, report, connection)
        } catch let refusal as ReportOwnerActions.Refusal {
            throw CommandFailure(refusal.description)
        }
        Console.line("\(done) \(report.publicID).")
    }

    static func connect() throws -> Connection {
        let (configuration, _) = try CommandEnvironment.load()
        return try Connection(url: configuration.databaseURL)
    }

    /// The report with this public id, else this slug (hidden ones included); a clear failure otherwise.
    static func find(_ key: String, on connection: Connection) throws -> Report {
        guard let report = try ReportStore.find(idOrSlug: key, on: connection) else {
            throw CommandFailure("no report has the id or slug \(key)")
        }
        return report
    }

    static func shorten(_ text: String, to length: Int) -> String {
        let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return oneLine.count <= length ? oneLine : String(oneLine.prefix(length - 1)) + "…"
    }
}
