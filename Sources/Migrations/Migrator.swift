public import Logging
public import Postgres
import Foundation

/// Applies `migrations/NNNN_name.sql` files in order, each in its own transaction, recording name and
/// SHA-256 checksum in `schema_migrations` (in the connection's current schema).
///
/// Refuses to apply anything when an applied file was edited or removed. A session advisory lock makes
/// concurrent migrators (several workers starting at once) take turns; the second finds nothing to do.
public struct Migrator: Sendable {
    /// The directory holding the `.sql` files.
    public let directory: String
    private let logger: Logger

    /// The advisory lock key every Marketlens migrator takes ("ml_migra" in ASCII).
    public static let lockKey: Int64 = 0x6D6C_5F6D_6967_7261

    /// Creates a migrator for a directory of migration files.
    public init(directory: String, logger: Logger = Logger(label: "marketlens.migrations")) {
        self.directory = directory
        self.logger = logger
    }

    /// The migration files, sorted by version.
    public func migrations() throws -> [Migration] {
        try Migration.load(from: directory)
    }

    /// Compares the directory with `schema_migrations` without changing anything.
    public func status(on connection: Connection) throws -> MigrationStatus {
        let files = try migrations()
        return try database { try Self.status(of: files, on: connection).status }
    }

    /// Applies every pending migration in version order and returns those applied (empty when current).
    ///
    /// Throws `checksumMismatch` or `missingFiles` before applying anything when an applied file changed or
    /// vanished, and `failed` when a migration fails (it is rolled back; earlier ones stay applied).
    /// Call it outside a transaction.
    @discardableResult
    public func migrate(
        on connection: Connection, progress: (MigrationProgress) -> Void = { _ in }
    ) throws -> [Migration] {
        let files = try migrations()
        try database { try connection.execute("SELECT pg_advisory_lock(\(Self.lockKey))") }
        defer { unlock(connection) }
        try database { try connection.executeScript(Self.createTable) }
        let (status, checksums) = try database { try Self.status(of: files, on: connection) }
        guard status.changed.isEmpty else { throw MigrationError.checksumMismatch(status.changed.map(\.migration.name)) }
        guard status.missing.isEmpty else { throw MigrationError.missingFiles(status.missing.map(\.name)) }
        for (offset, migration) in status.pending.enumerated() {
            progress(MigrationProgress(migration: migration, index: offset + 1, total: status.pending.count,
                                       phase: .started))
            let started = Date()
            let checksum = checksums[migration.version] ?? ""
            do {
                try connection.transaction { transaction in
                    try transaction.executeScript(migration.sql)
                    let milliseconds = Int(Date().timeIntervalSince(started) * 1000)
                    try transaction.execute("""
                        INSERT INTO schema_migrations (version, name, checksum, execution_ms)
                        VALUES (\(migration.version), \(migration.name), \(checksum), \(milliseconds))
                        """)
                }
            } catch let error as PostgresError {
                logger.error("migration failed", metadata: ["migration": "\(migration.name)", "error": "\(error)"])
                throw MigrationError.failed(migration: migration.name, underlying: error)
            }
            let seconds = Date().timeIntervalSince(started)
            logger.info("applied migration", metadata: [
                "migration": "\(migration.name)", "seconds": "\(String(format: "%.3f", seconds))",
            ])
            progress(MigrationProgress(migration: migration, index: offset + 1, total: status.pending.count,
                                       phase: .finished(seconds: seconds)))
        }
        return status.pending
    }

    static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version      integer PRIMARY KEY,
            name         text NOT NULL,
            checksum     text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
            applied_at   timestamptz NOT NULL DEFAULT now(),
            execution_ms integer NOT NULL DEFAULT 0 CHECK (execution_ms >= 0)
        )
        """

    /// The status, plus every file's checksum by version (computed by PostgreSQL's `sha256`).
    static func status(
        of files: [Migration], on connection: Connection
    ) throws -> (status: MigrationStatus, checksums: [Int: String]) {
        let sums = try connection.query("""
            SELECT encode(sha256(convert_to(body, 'UTF8')), 'hex') AS checksum
            FROM unnest(\(files.map(\.sql))) WITH ORDINALITY AS file(body, position)
            ORDER BY position
            """)
        var checksums: [Int: String] = [:]
        for (file, row) in zip(files, sums) {
            checksums[file.version] = try row.string("checksum")
        }
        var recorded: [Int: AppliedMigration] = [:]
        let exists = try connection.queryFirst("SELECT to_regclass('schema_migrations') IS NOT NULL AS found")
        if try exists?.bool("found") == true {
            for row in try connection.query(
                "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version") {
                let applied = AppliedMigration(
                    version: try row.int("version"), name: try row.string("name"),
                    checksum: try row.string("checksum"), appliedAt: try row.date("applied_at"))
                recorded[applied.version] = applied
            }
        }
        var status = MigrationStatus(applied: [], pending: [], changed: [], missing: [])
        for file in files {
            let checksum = checksums[file.version] ?? ""
            guard let applied = recorded.removeValue(forKey: file.version) else {
                status.pending.append(file)
                continue
            }
            if applied.checksum == checksum && applied.name == file.name {
                status.applied.append(applied)
            } else {
                status.changed.append(ChangedMigration(migration: file, checksum: checksum, applied: applied))
            }
        }
        status.missing = recorded.values.sorted { $0.version < $1.version }
        return (status, checksums)
    }

    @discardableResult
    private func database<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PostgresError {
            throw MigrationError.database(error)
        }
    }

    /// Unlocking can only fail when the connection is gone, and then the server already released the lock.
    private func unlock(_ connection: Connection) {
        do {
            try connection.execute("SELECT pg_advisory_unlock(\(Self.lockKey))")
        } catch {
            logger.debug("advisory unlock failed", metadata: ["error": "\(error)"])
        }
    }
}
