public import Postgres

/// The database connection of one request thread: opened on first use, re-established after the server
/// restarted or the connection dropped, never shared with another thread.
public final class DatabaseSession {
    private let url: String
    private var connection: Connection?

    /// A session for `url`; nothing is opened yet.
    public init(url: String) { self.url = url }

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
        if let connection, connection.isConnected { return connection }
        if let connection {
            try? connection.reset()
            if connection.isConnected { return connection }
        }
        let fresh = try Connection(url: url)
        connection = fresh
        return fresh
    }
}
