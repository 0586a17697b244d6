import ArgumentParser
import Foundation
import MarketLens
import Migrations
import Postgres

/// `marketlens status`: what the service is doing, read from the database.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show runs by state, the oldest active runs with their lease owners, and the e-mail backlog.")

    func run() throws {
        let (configuration, _) = try CommandEnvironment.load()
        let connection = try Connection(url: configuration.databaseURL)
        let migrations = try Migrator(directory: configuration.migrationsDirectory).status(on: connection)
        Console.line("Migrations: " + MigrationReport.summary(migrations))

        let counts = try connection.query("SELECT status, count(*) AS n FROM reports GROUP BY status ORDER BY status")
        Console.line("\nReports by state:")
        Console.table(["state", "count"], try counts.map { [try $0.string("status"), String(try $0.int("n"))] })

        let active = try connection.query(
            """
            SELECT public_id, status, created_at, lease_owner, lease_expires_at FROM reports
            WHERE status IN ('queued', 'running') ORDER BY created_at LIMIT 10
            """)
        Console.line("\nOldest active runs:")
        Console.table(
            ["report", "state", "created", "lease owner", "lease expires"],
            try active.map { row in
                [
                    try row.string("public_id"), try row.string("status"),
                    try row.date("created_at").formatted(.iso8601),
                    try row.optionalString("lease_owner") ?? "-",
                    try row.optionalDate("lease_expires_at")?.formatted(.iso8601) ?? "-",
                ]
            })

        let outbox = try connection.queryFirst(
            """
            SELECT count(*) FILTER (WHERE sent_at IS NULL) AS pending,
                   count(*) FILTER (WHERE sent_at IS NULL AND attempts > 0) AS retrying,
                   min(created_at) FILTER (WHERE sent_at IS NULL) AS oldest
            FROM email_outbox
            """)
        if let outbox {
            let oldest = try outbox.optionalDate("oldest")?.formatted(.iso8601) ?? "-"
            Console.line(
                "\nE-mail outbox: \(try outbox.int("pending")) unsent (\(try outbox.int("retrying")) retrying), oldest \(oldest)")
        }
    }
}
