import ArgumentParser
import Foundation
import MarketLens
import Postgres

/// `marketlens reports list|show|hide|publish|delete`: moderation of reports from the shell.
/// E-mail addresses are never printed: only whether a report has one.
struct ReportsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "List, inspect, hide, publish and delete reports.",
        subcommands: [List.self, Show.self, Hide.self, Publish.self, Delete.self])

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
            _ = try connection.execute("UPDATE reports SET hidden = true WHERE id = \(found.id)")
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
            _ = try connection.execute(
                "UPDATE reports SET hidden = false, visibility = 'public' WHERE id = \(found.id)")
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
                _ = try connection.execute("DELETE FROM reports WHERE id = \(found.id)")
                return (try counts?.int("events") ?? 0, try counts?.int("emails") ?? 0)
            }
            Console.line("Deleted \(found.publicID) with \(removed.0) event(s) and \(removed.1) e-mail(s).")
        }
    }

    static func connect() throws -> Connection {
        let (configuration, _) = try CommandEnvironment.load()
        return try Connection(url: configuration.databaseURL)
    }

    /// The report with this public id, else this slug (hidden ones included); a clear failure otherwise.
    static func find(_ key: String, on connection: Connection) throws -> Report {
        let row = try connection.queryFirst(
            "SELECT \(unescaped: Report.columns) FROM reports WHERE public_id = \(key) OR slug = \(key) LIMIT 1")
        guard let row else { throw CommandFailure("no report has the id or slug \(key)") }
        return try Report(row: row)
    }

    static func shorten(_ text: String, to length: Int) -> String {
        let oneLine = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return oneLine.count <= length ? oneLine : String(oneLine.prefix(length - 1)) + "…"
    }
}
