import Foundation
import MarketLens
import Postgres
import Testing
import TestSupport
import Synchronization
import Web

/// The request threads' shared pool against a real PostgreSQL: never more connections than its size, a busy
/// pool answers 503 with `Retry-After` after its wait, and a broken session is never handed on (a connection the
/// server closed: `DatabaseSessionTests`).
@Suite(.enabled(if: TestDatabase.isEnabled))
struct ConnectionPoolTests {
    @Test("12 threads share at most `size` connections, waiting for one given back")
    func bounded() throws {
        let pool = ConnectionPool(url: try TestDatabase.requireURL(), size: 3, waitLimit: .seconds(10))
        let backends = Mutex<Set<Int>>([])
        let answered = Atomic(0)
        let done = DispatchGroup()
        for _ in 0..<12 {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                let session = DatabaseSession(pool: pool)
                for _ in 0..<5 {
                    let pid = try? session.withConnection(readOnly: true) { connection in
                        try connection.queryFirst("SELECT pg_backend_pid() AS pid, pg_sleep(0.02)")?.int("pid")
                    }
                    if let pid {
                        backends.withLock { _ = $0.insert(pid) }
                        answered.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        done.wait()
        #expect(answered.load(ordering: .relaxed) == 60)
        #expect(backends.withLock { $0.count } <= 3)
        #expect(pool.statistics.open <= 3)
        #expect(pool.statistics.waits > 0)
    }

    @Test("past its wait a request gets 503 with Retry-After, never an extra connection")
    func exhausted() throws {
        let pool = ConnectionPool(url: try TestDatabase.requireURL(), size: 1, waitLimit: .milliseconds(200))
        let held = try pool.checkOut()
        let started = ContinuousClock.now
        #expect {
            try DatabaseSession(pool: pool).withConnection(readOnly: true) { _ in 1 }
        } throws: { error in
            guard let error = error as? HTTPError else { return false }
            return error.status == 503 && error.headers["Retry-After"] != nil
        }
        #expect(started.duration(to: .now) >= .milliseconds(200))
        #expect(pool.statistics.timeouts == 1 && pool.statistics.open == 1)
        pool.checkIn(held)
        #expect(try DatabaseSession(pool: pool).withConnection { _ in 1 } == 1)
    }

    @Test("a connection left inside a transaction is closed, not handed to the next request")
    func neverHandsOnATransaction() throws {
        let pool = ConnectionPool(url: try TestDatabase.requireURL(), size: 1)
        let session = DatabaseSession(pool: pool)
        struct Failure: Error {}
        #expect(throws: Failure.self) {
            try session.withConnection { connection in
                _ = try connection.execute("BEGIN")
                throw Failure()
            }
        }
        let inTransaction = try session.withConnection { $0.isInTransaction }
        #expect(!inTransaction)
    }
}
