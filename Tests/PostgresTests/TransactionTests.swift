import Foundation
import Postgres
import TestSupport
import Testing

private struct Abort: Error {}

@Suite("Transactions", .enabled(if: TestDatabase.isEnabled))
struct TransactionTests {
    @Test("a transaction commits when its body returns")
    func commits() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (n int)")
            let inserted = try connection.transaction { tx in
                try tx.execute("INSERT INTO t VALUES (1), (2)")
            }
            #expect(inserted == 2)
            let other = try database.connect()
            #expect(try other.queryFirst("SELECT count(*) AS c FROM t")?.int("c") == 2)
        }
    }

    @Test("a transaction rolls back everything when its body throws")
    func rollsBack() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (n int)")
            #expect(throws: Abort.self) {
                try connection.transaction { tx in
                    try tx.execute("INSERT INTO t VALUES (1)")
                    try tx.execute("CREATE TABLE t2 (n int)")
                    throw Abort()
                }
            }
            #expect(!connection.isInTransaction)
            #expect(try connection.queryFirst("SELECT count(*) AS c FROM t")?.int("c") == 0)
            #expect(try connection.queryFirst("SELECT to_regclass('t2') IS NULL AS gone")?.bool("gone") == true)
        }
    }

    @Test("a nested transaction undoes only its own work")
    func nestedSavepoint() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (n int UNIQUE)")
            try connection.transaction { tx in
                try tx.execute("INSERT INTO t VALUES (1)")
                let duplicate = try #require(throws: PostgresError.self) {
                    try tx.transaction { inner in
                        try inner.execute("INSERT INTO t VALUES (2)")
                        try inner.execute("INSERT INTO t VALUES (1)")
                    }
                }
                #expect(duplicate.isUniqueViolation)
                try tx.execute("INSERT INTO t VALUES (3)")
            }
            let rows = try connection.query("SELECT n FROM t ORDER BY n")
            #expect(try rows.map { try $0.int("n") } == [1, 3])
        }
    }

    @Test("a swallowed statement error makes the commit throw instead of silently losing writes")
    func swallowedErrorFailsCommit() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (n int UNIQUE)")
            try connection.execute("INSERT INTO t VALUES (1)")
            let error = try #require(throws: PostgresError.self) {
                try connection.transaction { tx in
                    try tx.execute("INSERT INTO t VALUES (2)")
                    _ = try? tx.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(error.sqlState == "25P02")
            #expect(try connection.queryFirst("SELECT count(*) AS c FROM t")?.int("c") == 1)
        }
    }

    @Test("serializable transactions run and report their isolation level")
    func isolation() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let level = try connection.transaction(isolation: .serializable) { tx in
                try tx.queryFirst("SELECT current_setting('transaction_isolation') AS level")?.string("level")
            }
            #expect(level == "serializable")
        }
    }
}
