internal import CPostgres
import Foundation

/// A `NOTIFY` received on a channel this connection listens to.
public struct PostgresNotification: Sendable, Equatable {
    /// The channel name.
    public var channel: String
    /// The payload text (empty when none was given).
    public var payload: String
    /// The server process that sent it (compare with `Connection.backendPID` to skip one's own).
    public var processID: Int32

    /// Creates a notification value.
    public init(channel: String, payload: String, processID: Int32) {
        self.channel = channel
        self.payload = payload
        self.processID = processID
    }
}

extension Connection {
    /// Starts listening on a channel; remembered so `reset()` listens again.
    public func listen(_ channel: String) throws {
        try execute("LISTEN \(identifier: channel)")
        channels.insert(channel)
    }

    /// Stops listening on a channel.
    public func unlisten(_ channel: String) throws {
        try execute("UNLISTEN \(identifier: channel)")
        channels.remove(channel)
    }

    /// Sends a notification (delivered when the current transaction commits, at once outside one).
    public func notify(channel: String, payload: String = "") throws {
        try execute("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Waits up to `timeout` seconds for notifications and returns those received (empty on timeout).
    ///
    /// Returns at once when some already arrived (for example during an earlier query). Throws a
    /// connection-lost error when the server goes away while waiting.
    public func waitForNotifications(timeout: Double) throws -> [PostgresNotification] {
        var received = try pendingNotifications()
        guard received.isEmpty else { return received }
        let deadline = Date().addingTimeInterval(max(0, timeout))
        while true {
            let socket = PQsocket(handle)
            guard socket >= 0 else {
                throw PostgresError(.connectionLost, call: "PQsocket", message: "the connection is closed")
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return [] }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up)))
            if ready < 0 {
                if errno == EINTR { continue }
                throw PostgresError(.socketFailed, call: "poll", message: String(cString: strerror(errno)))
            }
            if ready == 0 { return [] }
            received = try pendingNotifications()
            if !received.isEmpty { return received }
        }
    }

    /// The socket, for a caller that polls it together with other descriptors (a shutdown pipe); then call
    /// `pendingNotifications()` when it is readable. -1 when the connection is closed.
    public var socketDescriptor: Int32 { PQsocket(handle) }

    /// Reads whatever the socket holds without blocking and returns every notification received so far.
    public func pendingNotifications() throws -> [PostgresNotification] {
        guard PQconsumeInput(handle) == 1, isConnected else {
            throw PostgresError(.connectionLost, call: "PQconsumeInput", message: Self.errorMessage(handle))
        }
        var notifications: [PostgresNotification] = []
        while let pointer = PQnotifies(handle) {
            let notify = pointer.pointee
            notifications.append(PostgresNotification(
                channel: String(cString: notify.relname),
                payload: notify.extra.map { String(cString: $0) } ?? "",
                processID: notify.be_pid))
            PQfreemem(pointer)
        }
        return notifications
    }
}
