public import Foundation

/// A row of `schema_migrations`.
public struct AppliedMigration: Sendable, Equatable {
    /// The version number.
    public var version: Int
    /// The file name without `.sql` when it was applied.
    public var name: String
    /// The SHA-256 (hex) of the file's text when it was applied.
    public var checksum: String
    /// When it was applied.
    public var appliedAt: Date
}

/// An applied migration whose file no longer matches what was applied.
public struct ChangedMigration: Sendable, Equatable {
    /// The file as it is now.
    public var migration: Migration
    /// The file's current checksum.
    public var checksum: String
    /// What was recorded when it was applied.
    public var applied: AppliedMigration
}

/// How the database compares with the migrations directory.
public struct MigrationStatus: Sendable, Equatable {
    /// Applied, and the file is unchanged.
    public var applied: [AppliedMigration]
    /// Files not applied yet, in version order.
    public var pending: [Migration]
    /// Applied, but the file was edited (or renamed) since.
    public var changed: [ChangedMigration]
    /// Applied, but the file is gone.
    public var missing: [AppliedMigration]

    /// True when nothing is pending and every applied file is intact (what `/readyz` checks).
    public var isCurrent: Bool { pending.isEmpty && changed.isEmpty && missing.isEmpty }
}

/// Reported before and after each migration `migrate` applies.
public struct MigrationProgress: Sendable {
    /// Where in the run we are.
    public enum Phase: Sendable, Equatable {
        /// About to apply.
        case started
        /// Applied and committed, in this many seconds.
        case finished(seconds: Double)
    }

    /// The migration concerned.
    public var migration: Migration
    /// Its 1-based position among those being applied.
    public var index: Int
    /// How many are being applied.
    public var total: Int
    /// Started or finished.
    public var phase: Phase
}
