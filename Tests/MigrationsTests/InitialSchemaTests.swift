import Foundation
import Logging
import Migrations
import Postgres
import TestSupport
import Testing

/// The repository's `migrations/` directory.
let repositoryMigrations = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("migrations").path

/// Keeps test output to failures.
let quietLogger: Logger = {
    var logger = Logger(label: "test.migrations")
    logger.logLevel = .error
    return logger
}()

/// Runs `body` on a connection to a fresh schema holding the real migrations.
private func withMigratedSchema(_ body: (Connection) throws -> Void) throws {
    try TestDatabase.withSchema { database in
        let connection = try database.connect()
        try Migrator(directory: repositoryMigrations, logger: quietLogger).migrate(on: connection)
        try body(connection)
    }
}

private func insertReport(
    _ connection: Connection, publicID: String = "rpt_\(UUID().uuidString.prefix(12))",
    industry: String = "Solar Energy", region: String = "EU", focus: String = ""
) throws -> Int64 {
    let row = try connection.queryFirst("""
        INSERT INTO reports (public_id, title, industry, region, focus, processor)
        VALUES (\(publicID.replacingOccurrences(of: "-", with: "")), \(industry + " Market Research Report"),
                \(industry), \(region), \(focus), 'ultra2x')
        RETURNING id
        """)
    return try #require(row).int64("id")
}

@Suite("Initial schema", .enabled(if: TestDatabase.isEnabled))
struct InitialSchemaTests {
    @Test("0001 applies cleanly and creates every table of the data model")
    func tablesExist() throws {
        try withMigratedSchema { connection in
            let rows = try connection.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")
            let tables = Set(try rows.map { try $0.string("table_name") })
            let expected: Set<String> = [
                "reports", "report_events", "email_outbox", "batches", "batch_results", "batch_events",
                "rate_limits", "validation_cache", "webhook_deliveries", "schema_migrations",
            ]
            #expect(expected.isSubset(of: tables), "missing: \(expected.subtracting(tables))")
            #expect(try Migrator(directory: repositoryMigrations, logger: quietLogger).status(on: connection).isCurrent)
        }
    }

    @Test("a status transition is one conditional update that succeeds exactly once")
    func conditionalTransition() throws {
        try withMigratedSchema { connection in
            let id = try insertReport(connection)
            let start: Query = """
                UPDATE reports SET status = 'running', started_at = now()
                WHERE id = \(id) AND status = 'queued' RETURNING id
                """
            #expect(try connection.query(start).count == 1)
            #expect(try connection.query(start).isEmpty)
            let incomplete = try #require(throws: PostgresError.self) {
                try connection.execute("UPDATE reports SET status = 'completed' WHERE id = \(id)")
            }
            #expect(incomplete.isCheckViolation)
            #expect(incomplete.constraint == "reports_completed_has_content")
            let complete: Query = """
                UPDATE reports SET status = 'completed', content = '# Report', slug = 'solar-energy-x1',
                       completed_at = now()
                WHERE id = \(id) AND status = 'running' RETURNING slug
                """
            #expect(try connection.query(complete).count == 1)
            #expect(try connection.query(complete).isEmpty)
            let bogus = try #require(throws: PostgresError.self) {
                try connection.execute("UPDATE reports SET status = 'done' WHERE id = \(id)")
            }
            #expect(bogus.isCheckViolation)
        }
    }

    @Test("slugs are unique: the index decides, with SQLSTATE 23505")
    func uniqueSlug() throws {
        try withMigratedSchema { connection in
            let first = try insertReport(connection)
            let second = try insertReport(connection)
            try connection.execute("UPDATE reports SET slug = 'solar-abc' WHERE id = \(first)")
            let error = try #require(throws: PostgresError.self) {
                try connection.execute("UPDATE reports SET slug = 'solar-abc' WHERE id = \(second)")
            }
            #expect(error.isUniqueViolation)
            #expect(error.constraint == "reports_slug_key")
        }
    }

    @Test("append_report_event numbers events per report and stores a replayed upstream event once")
    func appendEvents() throws {
        try withMigratedSchema { connection in
            let first = try insertReport(connection)
            let second = try insertReport(connection)
            func append(_ report: Int64, _ key: String?) throws -> Int? {
                try connection.queryFirst("""
                    SELECT append_report_event(\(report), 'progress', \(PostgresJSON(#"{"progress": 10}"#)), \(key)) AS seq
                    """)?.optionalInt("seq")
            }
            #expect(try append(first, "evt-1") == 1)
            #expect(try append(first, "evt-2") == 2)
            #expect(try append(first, "evt-1") == nil)
            #expect(try append(first, nil) == 3)
            #expect(try append(second, "evt-1") == 1)
            let seqs = try connection.query("SELECT seq FROM report_events WHERE report_id = \(first) ORDER BY seq")
            #expect(try seqs.map { try $0.int("seq") } == [1, 2, 3])
            let missing = try #require(throws: PostgresError.self) { try append(999_999, nil) }
            #expect(missing.isForeignKeyViolation)
        }
    }

    @Test("concurrent writers replaying the same upstream events store each once, numbered without gaps")
    func concurrentAppends() throws {
        try TestDatabase.withSchema { database in
            let setup = try database.connect()
            try Migrator(directory: repositoryMigrations, logger: quietLogger).migrate(on: setup)
            let id = try insertReport(setup)
            let keys = (0..<10).map { "upstream-\($0)" }
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                do {
                    let connection = try database.connect()
                    var stored = 0
                    for key in worker % 2 == 0 ? keys : keys.reversed() {
                        let row = try connection.queryFirst(
                            "SELECT append_report_event(\(id), 'message', '{}', \(key)) AS seq")
                        if try row?.optionalInt("seq") != nil { stored += 1 }
                    }
                    results.add(stored)
                } catch {
                    results.fail("\(error)")
                }
            }
            #expect(results.failures.isEmpty)
            #expect(results.counts.reduce(0, +) == keys.count)
            let rows = try setup.query("SELECT seq, dedupe_key FROM report_events WHERE report_id = \(id) ORDER BY seq")
            #expect(try rows.map { try $0.int("seq") } == Array(1...keys.count))
            #expect(Set(try rows.map { try $0.string("dedupe_key") }) == Set(keys))
        }
    }

    @Test("storing an event notifies report_events with '<report id>:<seq>' on commit")
    func eventNotification() throws {
        // A whole database: the channel is database-wide and other tests store events too.
        try TestDatabase.withDatabase { database in
            let writer = try database.connect()
            try Migrator(directory: repositoryMigrations, logger: quietLogger).migrate(on: writer)
            let listener = try database.connect()
            try listener.listen("report_events")
            let id = try insertReport(writer)
            try writer.transaction { tx in
                try tx.query("SELECT append_report_event(\(id), 'status', '{}', NULL)")
                try tx.execute("INSERT INTO report_events (report_id, seq, type) VALUES (\(id), 2, 'message')")
                #expect(try listener.waitForNotifications(timeout: 0.2).isEmpty)
            }
            var payloads: [String] = []
            let deadline = Date().addingTimeInterval(5)
            while payloads.count < 2, Date() < deadline {
                payloads += try listener.waitForNotifications(timeout: 1).map(\.payload)
            }
            #expect(payloads == ["\(id):1", "\(id):2"])
        }
    }

    @Test("an identical request finds the completed report whatever its case and spacing")
    func identicalLookup() throws {
        try withMigratedSchema { connection in
            let id = try insertReport(connection, industry: "Solar  Energy", region: "European Union", focus: "Storage")
            try connection.execute("""
                UPDATE reports SET status = 'completed', content = 'x', slug = 'solar', completed_at = now()
                WHERE id = \(id)
                """)
            _ = try insertReport(connection, industry: "Solar Energy", region: "Asia")
            let match = try connection.query("""
                SELECT id FROM reports
                WHERE request_key = report_request_key(\(" solar energy"), \("EUROPEAN union "), \("storage"))
                  AND status = 'completed'
                ORDER BY completed_at DESC LIMIT 1
                """)
            #expect(try match.map { try $0.int64("id") } == [id])
        }
    }

    @Test("full-text search finds reports by title, focus and content words")
    func fullTextSearch() throws {
        try withMigratedSchema { connection in
            let id = try insertReport(connection, industry: "Vertical Farming", focus: "hydroponic lettuce")
            try connection.execute("""
                UPDATE reports SET status = 'completed', slug = 'vertical-farming', completed_at = now(),
                       content = 'Investors are watching aeroponics startups closely.'
                WHERE id = \(id)
                """)
            _ = try insertReport(connection, industry: "Cement")
            for term in ["farming", "hydroponics", "aeroponics startup"] {
                let rows = try connection.query(
                    "SELECT id FROM reports WHERE search @@ websearch_to_tsquery('english', \(term))")
                #expect(try rows.map { try $0.int64("id") } == [id], "term \(term)")
            }
        }
    }

    @Test("rate limit counters count up per bucket and window")
    func rateLimits() throws {
        try withMigratedSchema { connection in
            let window = Date(timeIntervalSince1970: 1_700_000_000)
            var counts: [Int] = []
            for _ in 0..<3 {
                let row = try connection.queryFirst("""
                    INSERT INTO rate_limits (bucket, window_start, count) VALUES ('global', \(window), 1)
                    ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1
                    RETURNING count
                    """)
                counts.append(try #require(row).int("count"))
            }
            #expect(counts == [1, 2, 3])
        }
    }

    @Test("updated_at moves forward on every update")
    func touchUpdatedAt() throws {
        try withMigratedSchema { connection in
            let id = try insertReport(connection)
            let before = try #require(try connection.queryFirst("SELECT updated_at FROM reports WHERE id = \(id)"))
                .date("updated_at")
            Thread.sleep(forTimeInterval: 0.01)
            let after = try #require(try connection.queryFirst(
                "UPDATE reports SET progress_meter = 37.5 WHERE id = \(id) RETURNING updated_at, progress_meter"))
            #expect(try after.date("updated_at") > before)
            #expect(try after.double("progress_meter") == 37.5)
        }
    }
}
