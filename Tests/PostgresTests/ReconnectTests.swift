import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Lost connections", .enabled(if: TestDatabase.isEnabled))
struct ReconnectTests {
    private func terminate(_ victim: Connection, from admin: Connection) throws {
        let row = try admin.queryFirst("SELECT pg_terminate_backend(\(victim.backendPID)) AS done")
        #expect(try row?.bool("done") == true)
        // Termination is asynchronous: wait until the backend is gone.
        for _ in 0..<100 {
            let alive = try admin.queryFirst(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = \(victim.backendPID)")
            if try alive?.int("n") == 0 { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    @Test("a terminated backend is reported as a lost connection, and reset() recovers it")
    func resetAfterTermination() throws {
        let url = try TestDatabase.requireURL()
        let victim = try Connection(url: url)
        let admin = try Connection(url: url)
        let oldPID = victim.backendPID
        try terminate(victim, from: admin)
        let error = try #require(throws: PostgresError.self) { try victim.query("SELECT 1 AS one") }
        #expect(error.isConnectionLost)
        #expect(!victim.isConnected)
        try victim.reset()
        #expect(victim.isConnected)
        #expect(victim.backendPID != oldPID)
        #expect(try victim.queryFirst("SELECT 1 AS one")?.int("one") == 1)
    }

    @Test("an idle connection whose backend was terminated is known to be dead before it is used")
    func idleDeathIsNoticed() throws {
        let url = try TestDatabase.requireURL()
        let victim = try Connection(url: url)
        let admin = try Connection(url: url)
        #expect(victim.isAlive)
        #expect(admin.isAlive)
        try terminate(victim, from: admin)
        // The server's FATAL and its close arrive just after the backend is gone from pg_stat_activity.
        var alive = true
        for _ in 0..<100 where alive {
            alive = victim.isAlive
            if alive { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(!alive)
        #expect(admin.isAlive)
    }

    @Test("a listener notices the lost connection while waiting and listens again after reset()")
    func listenerRecovers() throws {
        let url = try TestDatabase.requireURL()
        let listener = try Connection(url: url)
        let sender = try Connection(url: url)
        let channel = "test_reconnect_\(UUID().uuidString.prefix(8).lowercased())"
        try listener.listen(channel)
        try terminate(listener, from: sender)
        let error = try #require(throws: PostgresError.self) { try listener.waitForNotifications(timeout: 5) }
        #expect(error.isConnectionLost)
        try listener.reset()
        try sender.notify(channel: channel, payload: "after reset")
        let received = try listener.waitForNotifications(timeout: 5)
        #expect(received.map(\.payload) == ["after reset"])
    }

    @Test("a transaction whose connection dies reports the loss, not a silent success")
    func lostInsideTransaction() throws {
        let url = try TestDatabase.requireURL()
        let victim = try Connection(url: url)
        let admin = try Connection(url: url)
        let error = try #require(throws: PostgresError.self) {
            try victim.transaction { tx in
                try tx.query("SELECT 1 AS one")
                try terminate(tx, from: admin)
                try tx.query("SELECT 2 AS two")
            }
        }
        #expect(error.isConnectionLost)
        try victim.reset()
        #expect(!victim.isInTransaction)
    }
}
