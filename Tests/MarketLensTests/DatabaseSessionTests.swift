import Foundation
import MarketLens
import Postgres
import Testing
import TestSupport

/// A pooled connection that died while idle (what a database restart does to every idle connection of the
/// request threads' pool): the next request must get a fresh connection, not a 500 (found by `make soak`), and
/// the dead one must not count against the pool.
@Suite(.enabled(if: TestDatabase.isEnabled))
struct DatabaseSessionTests {
    @Test("the first statement after the idle connection's backend was terminated succeeds on a new connection")
    func reconnectsAfterIdleDeath() throws {
        let url = try TestDatabase.requireURL()
        let pool = ConnectionPool(url: url, size: 2)
        let session = DatabaseSession(pool: pool)
        let first = try session.withConnection { try $0.queryFirst("SELECT pg_backend_pid() AS pid")?.int("pid") }
        let admin = try Connection(url: url)
        _ = try admin.query("SELECT pg_terminate_backend(\(first ?? 0)::int)")
        // Wait until the server has closed it (termination is asynchronous).
        for _ in 0..<100 {
            let n = try admin.queryFirst("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(first ?? 0)::int")
            if try n?.int("n") == 0 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        Thread.sleep(forTimeInterval: 0.1)
        // A write: it may run only because nothing was sent on the dead connection.
        let second = try session.withConnection { try $0.queryFirst("SELECT pg_backend_pid() AS pid")?.int("pid") }
        #expect(second != nil && second != first)
        #expect(pool.statistics.open == 1)
    }
}
