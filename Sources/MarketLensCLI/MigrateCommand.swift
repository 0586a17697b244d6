import ArgumentParser
import Foundation
import MarketLens
import Migrations
import Postgres

/// `marketlens migrate`: applies pending `migrations/*.sql` in order, one transaction each.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (migrations/*.sql), each in its own transaction.",
        discussion: """
            Applied migrations are recorded with a checksum; an applied file that was edited or removed is
            refused and nothing is applied. Running it again when everything is applied does nothing.
            """)

    @Flag(name: .long, help: "Only list what would be applied.")
    var dryRun = false

    func run() throws {
        let (configuration, _) = try CommandEnvironment.load()
        let connection = try Connection(url: configuration.databaseURL)
        let migrator = Migrator(directory: configuration.migrationsDirectory)
        let status = try migrator.status(on: connection)
        try MigrationReport.refuseTampering(status)
        if status.pending.isEmpty {
            Console.line("Database is up to date (\(status.applied.count) migration(s) applied).")
            return
        }
        if dryRun {
            for migration in status.pending { Console.line("pending: \(migration.name)") }
            return
        }
        let bar = ProgressBar(total: status.pending.count, label: "migrating")
        let applied = try migrator.migrate(on: connection) { progress in
            if case .finished = progress.phase { bar.advance(note: progress.migration.name) }
        }
        bar.finish()
        Console.line("Applied \(applied.count) migration(s).")
    }
}

/// How admin commands report the migration state.
enum MigrationReport {
    /// Throws a clear failure when an applied migration file was edited or removed.
    static func refuseTampering(_ status: MigrationStatus) throws {
        if !status.changed.isEmpty {
            throw CommandFailure(
                "applied migrations were edited: \(status.changed.map(\.migration.name).joined(separator: ", ")); "
                    + "migrations are forward-only: restore the file and add a new migration instead")
        }
        if !status.missing.isEmpty {
            throw CommandFailure(
                "applied migrations are missing: \(status.missing.map(\.name).joined(separator: ", "))")
        }
    }

    /// One line: applied, pending and (if any) tampered counts.
    static func summary(_ status: MigrationStatus) -> String {
        var text = "\(status.applied.count) applied, \(status.pending.count) pending"
        if !status.changed.isEmpty { text += ", EDITED: " + status.changed.map(\.migration.name).joined(separator: ", ") }
        if !status.missing.isEmpty { text += ", MISSING: " + status.missing.map(\.name).joined(separator: ", ") }
        return text
    }
}
