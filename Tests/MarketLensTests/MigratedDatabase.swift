import Foundation
import Migrations
import Postgres
import TestSupport

/// A fresh schema with every migration of the repository applied, for app tests against real PostgreSQL.
enum MigratedDatabase {
    static let migrations: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("migrations").path
    }()

    /// Runs `body` with the URL of a migrated, isolated schema (dropped afterwards).
    static func with<T>(_ body: (String) throws -> T) throws -> T {
        try TestDatabase.withSchema { isolated in
            let connection = try Connection(url: isolated.url)
            try Migrator(directory: migrations).migrate(on: connection)
            return try body(isolated.url)
        }
    }

    /// Inserts a minimal queued report and returns its internal id.
    static func insertReport(on connection: Connection, industry: String = "Cold-chain logistics") throws -> Int64 {
        let row = try connection.queryFirst(
            """
            INSERT INTO reports (public_id, title, industry, processor)
            VALUES (\(ReportIDs.make()), \(industry + " Market Research Report"), \(industry), 'ultra2x') RETURNING id
            """)
        return try row?.int64("id") ?? -1
    }
}

enum ReportIDs {
    static func make() -> String { "rpt_test" + UUID().uuidString.prefix(8).lowercased() }
}
