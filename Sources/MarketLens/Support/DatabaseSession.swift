import Foundation
public import Postgres

/// The database connection of one request thread: opened on first use, re-established after the server
/// restarted or the connection dropped, never shared with another thread.
public final class DatabaseSession {
    private let url: String
    private let restartWait: Double
    private var connection: Connection?

    /// A session for `url`; nothing is opened yet. `restartWait`: seconds a connect keeps trying while the server
    /// refuses connections.
    public init(url: String, restartWait: Double = 5) {
        self.url = url
        self.restartWait = restartWait
    }

    /// Runs `body` with a live connection. If the connection turns out to be lost before `body` started, it is
    /// reopened once; a connection lost inside `body` is reported (the caller decides whether to retry).
    public func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try liveConnection()
        do {
            return try body(connection)
        } catch let error as PostgresError where error.isConnectionLost {
            self.connection = nil
            throw error
        }
    }

    private func liveConnection() throws -> Connection {
        // `isAliveWhenIdle`, not `isConnected`: after a database restart the idle connection looks fine until
        // used, and the request would fail (500) with a statement that never reached a server (make soak).
        if let connection, connection.isAliveWhenIdle { return connection }
        if let connection {
            try? connection.reset()
            if connection.isConnected { return connection }
        }
        let fresh = try connectWaitingOutRestart()
        connection = fresh
        return fresh
    }

    /// A refused connection or a server starting or shutting down; not a wrong password or an unknown host.
    static func isRestarting(_ error: PostgresError) -> Bool {
        guard error.kind == .connectionFailed else { return false }
        return ["Connection refused", "is starting up", "is shutting down", "No such file or directory"]
            .contains { error.message.contains($0) }
    }

    /// Connects; while the server refuses connections (it is restarting, which takes seconds), tries again for
    /// up to `restartWait` seconds, so a request arriving during a database restart waits instead of failing.
    private func connectWaitingOutRestart() throws -> Connection {
        let deadline = Date().addingTimeInterval(restartWait)
        var pause = 0.1
        while true {
            do {
                return try Connection(url: url)
            } catch let error as PostgresError where Self.isRestarting(error) && Date() < deadline {
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 0.5)
            }
        }
    }
}
