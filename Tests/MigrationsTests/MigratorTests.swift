import Foundation
import Migrations
import Postgres
import TestSupport
import Testing

/// A temporary migrations directory.
struct MigrationFiles {
    let path: String

    init(_ files: [String: String]) throws {
        path = NSTemporaryDirectory() + "migrations-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, sql) in files { try write(name, sql) }
    }

    func write(_ name: String, _ sql: String) throws {
        try Data(sql.utf8).write(to: URL(fileURLWithPath: path).appendingPathComponent(name))
    }

    func remove(_ name: String) throws {
        try FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(name))
    }

    func delete() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

private func tableExists(_ name: String, on connection: Connection) throws -> Bool {
    try connection.queryFirst("SELECT to_regclass(\(name)) IS NOT NULL AS found")?.bool("found") == true
}

@Suite("Migrator", .enabled(if: TestDatabase.isEnabled))
struct MigratorTests {
    @Test("a fresh database gets every migration once; a second run is a no-op")
    func freshThenNoOp() throws {
        let files = try MigrationFiles([
            "0001_first.sql": "CREATE TABLE alpha (id int PRIMARY KEY);",
            "0002_second.sql": "CREATE TABLE beta (id int); INSERT INTO alpha VALUES (1), (2);",
            "README.md": "not a migration",
        ])
        defer { files.delete() }
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let migrator = Migrator(directory: files.path, logger: quietLogger)
            var events: [String] = []
            let applied = try migrator.migrate(on: connection) { progress in
                events.append("\(progress.index)/\(progress.total) \(progress.migration.name) \(progress.phase == .started ? "start" : "done")")
            }
            #expect(applied.map(\.name) == ["0001_first", "0002_second"])
            #expect(events == ["1/2 0001_first start", "1/2 0001_first done", "2/2 0002_second start", "2/2 0002_second done"])
            #expect(try connection.queryFirst("SELECT count(*) AS n FROM alpha")?.int("n") == 2)
            let recorded = try connection.query("SELECT name, checksum FROM schema_migrations ORDER BY version")
            #expect(try recorded.map { try $0.string("name") } == ["0001_first", "0002_second"])
            let expected = try connection.queryFirst(
                "SELECT encode(sha256(convert_to(\("CREATE TABLE alpha (id int PRIMARY KEY);"), 'UTF8')), 'hex') AS sum")
            #expect(try recorded.first?.string("checksum") == expected?.string("sum"))

            let again = try migrator.migrate(on: connection)
            #expect(again.isEmpty)
            #expect(try connection.queryFirst("SELECT count(*) AS n FROM alpha")?.int("n") == 2)
            let status = try migrator.status(on: connection)
            #expect(status.isCurrent)
            #expect(status.applied.map(\.version) == [1, 2])
        }
    }

    @Test("status lists pending migrations without creating anything")
    func statusListsPending() throws {
        let files = try MigrationFiles(["0001_first.sql": "CREATE TABLE alpha (id int);"])
        defer { files.delete() }
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let migrator = Migrator(directory: files.path, logger: quietLogger)
            let fresh = try migrator.status(on: connection)
            #expect(fresh.pending.map(\.name) == ["0001_first"])
            #expect(!fresh.isCurrent)
            #expect(try !tableExists("schema_migrations", on: connection))

            try migrator.migrate(on: connection)
            try files.write("0002_second.sql", "CREATE TABLE beta (id int);")
            let later = try migrator.status(on: connection)
            #expect(later.applied.map(\.name) == ["0001_first"])
            #expect(later.pending.map(\.name) == ["0002_second"])
            #expect(later.changed.isEmpty && later.missing.isEmpty)
        }
    }

    @Test("an applied file that was edited is refused and nothing else is applied")
    func editedFileRefused() throws {
        let files = try MigrationFiles(["0001_first.sql": "CREATE TABLE alpha (id int);"])
        defer { files.delete() }
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let migrator = Migrator(directory: files.path, logger: quietLogger)
            try migrator.migrate(on: connection)
            try files.write("0001_first.sql", "CREATE TABLE alpha (id int); -- edited")
            try files.write("0002_second.sql", "CREATE TABLE beta (id int);")
            let error = try #require(throws: MigrationError.self) { try migrator.migrate(on: connection) }
            guard case .checksumMismatch(let names) = error else {
                Issue.record("expected checksumMismatch, got \(error)")
                return
            }
            #expect(names == ["0001_first"])
            #expect(error.description.contains("0001_first"))
            #expect(try !tableExists("beta", on: connection))
            let status = try migrator.status(on: connection)
            #expect(status.changed.map(\.migration.name) == ["0001_first"])
            #expect(status.pending.map(\.name) == ["0002_second"])
        }
    }

    @Test("an applied file that disappeared is refused")
    func missingFileRefused() throws {
        let files = try MigrationFiles([
            "0001_first.sql": "CREATE TABLE alpha (id int);", "0002_second.sql": "CREATE TABLE beta (id int);",
        ])
        defer { files.delete() }
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let migrator = Migrator(directory: files.path, logger: quietLogger)
            try migrator.migrate(on: connection)
            try files.remove("0002_second.sql")
            try files.write("0003_third.sql", "CREATE TABLE gamma (id int);")
            let error = try #require(throws: MigrationError.self) { try migrator.migrate(on: connection) }
            guard case .missingFiles(let names) = error else {
                Issue.record("expected missingFiles, got \(error)")
                return
            }
            #expect(names == ["0002_second"])
            #expect(try !tableExists("gamma", on: connection))
        }
    }

    @Test("a failing migration rolls back completely; earlier ones stay applied")
    func failingMigrationRollsBack() throws {
        let files = try MigrationFiles([
            "0001_good.sql": "CREATE TABLE alpha (id int);",
            "0002_bad.sql": """
                CREATE TABLE beta (id int);
                INSERT INTO alpha VALUES (1);
                SELECT 1 / 0;
                """,
            "0003_after.sql": "CREATE TABLE gamma (id int);",
        ])
        defer { files.delete() }
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let migrator = Migrator(directory: files.path, logger: quietLogger)
            let error = try #require(throws: MigrationError.self) { try migrator.migrate(on: connection) }
            guard case .failed(let name, let underlying) = error else {
                Issue.record("expected failed, got \(error)")
                return
            }
            #expect(name == "0002_bad")
            #expect(underlying.sqlState == "22012")
            #expect(try tableExists("alpha", on: connection))
            #expect(try !tableExists("beta", on: connection))
            #expect(try !tableExists("gamma", on: connection))
            #expect(try connection.queryFirst("SELECT count(*) AS n FROM alpha")?.int("n") == 0)
            let status = try migrator.status(on: connection)
            #expect(status.applied.map(\.name) == ["0001_good"])
            #expect(status.pending.map(\.name) == ["0002_bad", "0003_after"])
            // The session advisory lock was released (other tests may hold it: look at this session only).
            let held = try connection.queryFirst("""
                SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                """)
            #expect(try held?.int("n") == 0)
        }
    }

    @Test("two migrators racing apply each migration exactly once")
    func concurrentMigrators() throws {
        var files: [String: String] = [:]
        for index in 1...5 {
            files[String(format: "%04d_step.sql", index)] = "CREATE TABLE step_\(index) (id int); SELECT pg_sleep(0.05);"
        }
        let directory = try MigrationFiles(files)
        defer { directory.delete() }
        try TestDatabase.withSchema { database in
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                do {
                    let connection = try database.connect()
                    results.add(try Migrator(directory: directory.path, logger: quietLogger).migrate(on: connection).count)
                } catch {
                    results.fail("\(error)")
                }
            }
            #expect(results.failures.isEmpty)
            #expect(results.counts.sorted() == [0, 5])
            let connection = try database.connect()
            #expect(try connection.queryFirst("SELECT count(*) AS n FROM schema_migrations")?.int("n") == 5)
        }
    }

    @Test("badly named or duplicate migration files are rejected before touching the database")
    func invalidFiles() throws {
        let badName = try MigrationFiles(["first.sql": "SELECT 1;"])
        defer { badName.delete() }
        #expect(throws: MigrationError.self) { try Migrator(directory: badName.path).migrations() }
        let duplicate = try MigrationFiles(["0001_a.sql": "SELECT 1;", "1_b.sql": "SELECT 1;"])
        defer { duplicate.delete() }
        #expect(throws: MigrationError.self) { try Migrator(directory: duplicate.path).migrations() }
        #expect(throws: MigrationError.self) { try Migrator(directory: "/nonexistent/migrations").migrations() }
    }
}

/// Collects results from concurrent workers.
final class Results: @unchecked Sendable {
    // Guarded by `lock`; only touched from the concurrentPerform workers.
    private let lock = NSLock()
    private var storedCounts: [Int] = []
    private var storedFailures: [String] = []

    func add(_ count: Int) { lock.withLock { storedCounts.append(count) } }
    func fail(_ message: String) { lock.withLock { storedFailures.append(message) } }
    var counts: [Int] { lock.withLock { storedCounts } }
    var failures: [String] { lock.withLock { storedFailures } }
}
