import ArgumentParser
import Foundation
import MarketLens
import Postgres

/// `marketlens export`: every report (not those their owners deleted) with its events as JSON lines (one report
/// per line), each with its version and its family (the public id of the family's earliest exported version, which
/// comes first in the file). E-mail addresses are left out: an export is a file that travels.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every report and its events as JSON lines (e-mail addresses are not exported).",
        discussion: "Versions of one report keep their numbers and stay one family when imported.")

    @Option(name: .shortAndLong, help: "Output file (default: standard output).")
    var output: String?

    func run() throws {
        let (configuration, _) = try CommandEnvironment.load()
        let connection = try Connection(url: configuration.databaseURL)
        let total = try connection.queryFirst("SELECT count(*) AS n FROM reports WHERE deleted_at IS NULL")?.int("n") ?? 0
        let handle: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil) else {
                throw CommandFailure("cannot create \(output)")
            }
            guard let opened = FileHandle(forWritingAtPath: output) else { throw CommandFailure("cannot open \(output)") }
            handle = opened
        } else {
            handle = FileHandle.standardOutput
        }
        let bar = ProgressBar(total: total, label: "exporting")
        var lastID: Int64 = 0
        var written = 0
        while true {
            // Batches by id keep memory flat however many reports there are.
            let rows = try connection.query(
                """
                SELECT id, public_id, task_run_id, title, slug, industry, region, focus, processor, status, content,
                       basis::text AS basis, visibility, hidden, error, progress_meter, sources_considered,
                       sources_read, \(unescaped: ReportArchive.utc("created_at")) AS created_at,
                       \(unescaped: ReportArchive.utc("started_at")) AS started_at,
                       \(unescaped: ReportArchive.utc("completed_at")) AS completed_at, version,
                       (SELECT f.public_id FROM reports f WHERE f.family_id = reports.family_id
                          AND f.deleted_at IS NULL ORDER BY f.id LIMIT 1) AS family
                FROM reports WHERE id > \(lastID) AND deleted_at IS NULL ORDER BY id LIMIT 200
                """)
            guard let last = rows.last else { break }
            lastID = try last.int64("id")
            let ids = try rows.map { try $0.int64("id") }
            var events: [Int64: [[String: Any]]] = [:]
            for row in try connection.query(
                """
                SELECT report_id, seq, type, payload::text AS payload, dedupe_key,
                       \(unescaped: ReportArchive.utc("created_at")) AS created_at FROM report_events
                WHERE report_id = ANY(\(ids)) ORDER BY report_id, seq
                """)
            {
                events[try row.int64("report_id"), default: []].append([
                    "seq": try row.int("seq"), "type": try row.string("type"),
                    "payload": ReportArchive.parse(try row.string("payload")) ?? [String: Any](),
                    "dedupe_key": try row.optionalString("dedupe_key") ?? NSNull(),
                    "created_at": try row.string("created_at"),
                ])
            }
            var chunk = Data()
            for row in rows {
                var object = try ReportArchive.object(from: row)
                object["events"] = events[try row.int64("id")] ?? []
                chunk.append(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                chunk.append(0x0A)
                written += 1
                bar.advance()
            }
            handle.write(chunk)
        }
        bar.finish()
        if output != nil { try handle.close() }
        FileHandle.standardError.write(Data("Exported \(written) report(s).\n".utf8))
    }
}

/// `marketlens import`: reads what `export` wrote. Idempotent: a report whose public id exists is skipped.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import reports and their events from JSON lines written by `marketlens export`.",
        discussion: """
            Reports whose public id already exists are skipped, so running it twice changes nothing. Versions of one \
            report join their family's earliest version (imported before them from the same file) and keep their \
            numbers.
            """)

    @Argument(help: "The .jsonl file.")
    var file: String

    func run() throws {
        let (configuration, _) = try CommandEnvironment.load()
        let connection = try Connection(url: configuration.databaseURL)
        guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        let bar = ProgressBar(total: lines.count, label: "importing")
        var imported = 0, skipped = 0, failed = 0
        for (index, line) in lines.enumerated() {
            do {
                guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw CommandFailure("not a JSON object")
                }
                if try ReportArchive.insert(object, on: connection) { imported += 1 } else { skipped += 1 }
            } catch {
                failed += 1
                FileHandle.standardError.write(Data("\nline \(index + 1): \(ReportArchive.describe(error))\n".utf8))
            }
            bar.advance()
        }
        bar.finish()
        Console.line("Imported \(imported), skipped \(skipped) already present, \(failed) failed.")
        if failed > 0 { throw ExitCode(1) }
    }
}

/// The JSON-lines form of a report, shared by export and import.
enum ReportArchive {
    /// A timestamp column as ISO 8601 text in UTC with all six fractional digits PostgreSQL keeps, so an
    /// export and import round trip does not round times (keyset cursors depend on exact times).
    static func utc(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    static func parse(_ text: String?) -> Any? {
        guard let text else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func object(from row: Row) throws -> [String: Any] {
        func optional(_ value: String?) -> Any { value ?? NSNull() }
        return [
            "public_id": try row.string("public_id"), "task_run_id": optional(try row.optionalString("task_run_id")),
            "title": try row.string("title"), "slug": optional(try row.optionalString("slug")),
            "industry": try row.string("industry"), "region": try row.string("region"), "focus": try row.string("focus"),
            "processor": try row.string("processor"), "status": try row.string("status"),
            "content": optional(try row.optionalString("content")), "basis": parse(try row.optionalString("basis")) ?? NSNull(),
            "visibility": try row.string("visibility"), "hidden": try row.bool("hidden"),
            "error": optional(try row.optionalString("error")), "progress_meter": try row.double("progress_meter"),
            "sources_considered": try row.int("sources_considered"), "sources_read": try row.int("sources_read"),
            "created_at": try row.string("created_at"),
            "started_at": optional(try row.optionalString("started_at")),
            "completed_at": optional(try row.optionalString("completed_at")),
            "version": try row.optionalInt("version").map { $0 as Any } ?? NSNull(),
            "family": try row.string("family"),
        ]
    }

    /// Inserts one exported report and its events in one transaction; false when its public id already exists.
    static func insert(_ object: [String: Any], on connection: Connection) throws -> Bool {
        func string(_ key: String) throws -> String {
            guard let value = object[key] as? String else { throw CommandFailure("\(key) is missing or not a string") }
            return value
        }
        func optionalString(_ key: String) -> String? { object[key] as? String }
        // Times stay text and PostgreSQL parses them (`::timestamptz`), keeping every microsecond.
        func date(_ key: String) throws -> String? {
            guard let text = object[key] as? String else { return nil }
            guard text.utf8.count <= 40, (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
                ?? (try? Date(text, strategy: .iso8601)) != nil
            else { throw CommandFailure("\(key) is not an ISO 8601 time") }
            return text
        }
        func json(_ key: String) throws -> PostgresJSON? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            return PostgresJSON(String(decoding: data, as: UTF8.self))
        }
        let publicID = try string("public_id")
        let version = object["version"] as? Int
        if let version, version < 1 { throw CommandFailure("version must be 1 or more") }
        return try connection.transaction { connection in
            // A later version joins the family of its family's earliest version (already imported: the file is in
            // id order); the first version, or one whose family is not here, starts its own.
            var familyID: Int64?
            if let family = optionalString("family"), family != publicID {
                familyID = try connection.queryFirst("SELECT family_id FROM reports WHERE public_id = \(family)")?
                    .int64("family_id")
            }
            let row = try connection.queryFirst(
                """
                INSERT INTO reports (public_id, task_run_id, title, slug, industry, region, focus, processor, status,
                    content, basis, visibility, hidden, error, progress_meter, sources_considered, sources_read,
                    created_at, started_at, completed_at, family_id, version)
                VALUES (\(publicID), \(optionalString("task_run_id")), \(try string("title")), \(optionalString("slug")),
                    \(try string("industry")), \(optionalString("region") ?? ""), \(optionalString("focus") ?? ""),
                    \(try string("processor")), \(try string("status")), \(optionalString("content")), \(try json("basis")),
                    \(optionalString("visibility") ?? "public"), \(object["hidden"] as? Bool ?? false),
                    \(optionalString("error")), \((object["progress_meter"] as? Double) ?? 0),
                    \((object["sources_considered"] as? Int) ?? 0), \((object["sources_read"] as? Int) ?? 0),
                    coalesce(\(try date("created_at"))::timestamptz, now()), \(try date("started_at"))::timestamptz,
                    \(try date("completed_at"))::timestamptz, \(familyID), \(version))
                ON CONFLICT (public_id) DO NOTHING RETURNING id
                """)
            guard let id = try row?.int64("id") else { return false }
            var maxSeq = 0
            for case let event as [String: Any] in (object["events"] as? [Any]) ?? [] {
                guard let seq = event["seq"] as? Int, let type = event["type"] as? String else {
                    throw CommandFailure("an event lacks seq or type")
                }
                let payload = try JSONSerialization.data(withJSONObject: event["payload"] ?? [String: Any](), options: [.fragmentsAllowed])
                let created = event["created_at"] as? String
                _ = try connection.execute(
                    """
                    INSERT INTO report_events (report_id, seq, type, payload, dedupe_key, created_at)
                    VALUES (\(id), \(seq)::int, \(type), \(PostgresJSON(String(decoding: payload, as: UTF8.self))),
                            \(event["dedupe_key"] as? String), coalesce(\(created)::timestamptz, now()))
                    """)
                maxSeq = max(maxSeq, seq)
            }
            try ReportStore.setEventSeq(maxSeq, reportID: id, on: connection)
            return true
        }
    }

    /// An error for the operator: PostgreSQL's message (it names the constraint), never the values.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresError { return error.constraint.map { "violates \($0)" } ?? error.description }
        return "\(error)"
    }
}
