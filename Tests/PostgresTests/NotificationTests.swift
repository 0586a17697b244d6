import Foundation
import Postgres
import TestSupport
import Testing

@Suite("LISTEN and NOTIFY", .enabled(if: TestDatabase.isEnabled))
struct NotificationTests {
    /// Channels are per database: a unique name keeps parallel tests apart.
    private func uniqueChannel() -> String { "test_channel_\(UUID().uuidString.prefix(8).lowercased())" }

    @Test("a notification sent on one connection reaches a listener on another")
    func acrossConnections() throws {
        let url = try TestDatabase.requireURL()
        let listener = try Connection(url: url)
        let sender = try Connection(url: url)
        let channel = uniqueChannel()
        try listener.listen(channel)
        try sender.notify(channel: channel, payload: "42:7 – ünïcode")
        let received = try listener.waitForNotifications(timeout: 5)
        #expect(received == [PostgresNotification(channel: channel, payload: "42:7 – ünïcode",
                                                  processID: sender.backendPID)])
    }

    @Test("waiting times out with nothing when no one notifies")
    func timeout() throws {
        let listener = try Connection(url: try TestDatabase.requireURL())
        try listener.listen(uniqueChannel())
        let start = Date()
        let received = try listener.waitForNotifications(timeout: 0.3)
        let elapsed = Date().timeIntervalSince(start)
        #expect(received.isEmpty)
        #expect(elapsed >= 0.25)
        #expect(elapsed < 3)
    }

    @Test("notifications inside a transaction arrive only after commit, in order")
    func deliveredOnCommit() throws {
        let url = try TestDatabase.requireURL()
        let listener = try Connection(url: url)
        let sender = try Connection(url: url)
        let channel = uniqueChannel()
        try listener.listen(channel)
        try sender.transaction { tx in
            for index in 1...3 { try tx.notify(channel: channel, payload: "\(index)") }
            #expect(try listener.waitForNotifications(timeout: 0.2).isEmpty)
        }
        var payloads: [String] = []
        let deadline = Date().addingTimeInterval(5)
        while payloads.count < 3, Date() < deadline {
            payloads += try listener.waitForNotifications(timeout: 1).map(\.payload)
        }
        #expect(payloads == ["1", "2", "3"])
    }

    @Test("a caller can poll the socket with its own descriptors and then read pending notifications")
    func externalPoll() throws {
        let url = try TestDatabase.requireURL()
        let listener = try Connection(url: url)
        let sender = try Connection(url: url)
        let channel = uniqueChannel()
        try listener.listen(channel)
        #expect(try listener.pendingNotifications().isEmpty)
        try sender.notify(channel: channel, payload: "polled")
        var received: [PostgresNotification] = []
        let deadline = Date().addingTimeInterval(5)
        while received.isEmpty, Date() < deadline {
            var descriptor = pollfd(fd: listener.socketDescriptor, events: Int16(POLLIN), revents: 0)
            #expect(poll(&descriptor, 1, 5000) >= 0)
            received += try listener.pendingNotifications()
        }
        #expect(received.map(\.payload) == ["polled"])
    }

    @Test("after unlisten nothing more arrives")
    func unlisten() throws {
        let url = try TestDatabase.requireURL()
        let listener = try Connection(url: url)
        let sender = try Connection(url: url)
        let channel = uniqueChannel()
        try listener.listen(channel)
        try listener.unlisten(channel)
        try sender.notify(channel: channel, payload: "x")
        #expect(try listener.waitForNotifications(timeout: 0.3).isEmpty)
    }
}
