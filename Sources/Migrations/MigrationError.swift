public import Postgres

/// Why migrations could not be read or applied. Descriptions hold file names only, never SQL text.
public enum MigrationError: Error, Sendable, CustomStringConvertible {
    /// The migrations directory (or a file in it) could not be read.
    case directoryUnreadable(path: String)
    /// A `.sql` file is not named `NNNN_name.sql`.
    case invalidFileName(String)
    /// Two files share a version number.
    case duplicateVersion(Int, [String])
    /// A file is not valid UTF-8.
    case invalidEncoding(String)
    /// Applied migrations whose file changed since (checksum or name): nothing was applied.
    case checksumMismatch([String])
    /// Applied migrations whose file is gone: nothing was applied.
    case missingFiles([String])
    /// A migration failed and was rolled back; those before it stay applied.
    case failed(migration: String, underlying: PostgresError)
    /// Reading or locking `schema_migrations` failed.
    case database(PostgresError)

    /// A log-safe summary.
    public var description: String {
        switch self {
        case .directoryUnreadable(let path):
            "cannot read migrations at \(path)"
        case .invalidFileName(let name):
            "migration file \(name) is not named NNNN_name.sql"
        case .duplicateVersion(let version, let names):
            "migration version \(version) is used by several files: \(names.joined(separator: ", "))"
        case .invalidEncoding(let name):
            "migration file \(name) is not valid UTF-8"
        case .checksumMismatch(let names):
            "applied migrations were edited afterwards (add a new migration instead): \(names.joined(separator: ", "))"
        case .missingFiles(let names):
            "applied migrations are missing from the migrations directory: \(names.joined(separator: ", "))"
        case .failed(let name, let underlying):
            "migration \(name) failed and was rolled back: \(underlying)"
        case .database(let underlying):
            "migration bookkeeping failed: \(underlying)"
        }
    }
}
