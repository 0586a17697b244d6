public import Postgres
import Web

/// The database connection of one request thread: opened on first use, re-established after the server
/// restarted or the connection dropped, never shared with another thread.
///
/// A database restart is invisible to visitors: a connection the server closed is noticed before anything is
/// sent on it (`Connection.isAlive`) and replaced, and a read-only `body` that loses its connection midway is run
/// once more on a fresh one. Anything else that loses the database (a write whose fate is unknown, or no server
/// to connect to) answers 503 with `Retry-After`, never 500.
public final class DatabaseSession {
    private let url: String
    private var connection: Connection?

    /// Seconds a visitor is asked to wait when the database is unreachable.
    static let retryAfterSeconds = 2

    /// A session for `url`; nothing is opened yet.
    public init(url: String) { self.url = url }

    /// Runs `body` with a live connection. `readOnly`: `body` changes nothing, so it is run again on a fresh
    /// connection when its connection is lost midway.
    public func withConnection<T>(readOnly: Bool = false, _ body: (Connection) throws -> T) throws -> T {
        do {
            return try body(try liveConnection())
        } catch let error as PostgresError where error.isConnectionLost {
            connection = nil
            guard readOnly, error.kind != .connectionFailed else { throw Self.unavailable }
        }
        do {
            return try body(try liveConnection())
        } catch let error as PostgresError where error.isConnectionLost {
            connection = nil
            throw Self.unavailable
        }
    }

    /// The answer when the database cannot be reached.
    static var unavailable: HTTPError {
        HTTPError(status: 503, code: "database_unavailable",
                  message: "Marketlens is briefly unavailable. Please try again in a moment.",
                  headers: ["Retry-After": String(retryAfterSeconds)])
    }

    private func liveConnection() throws -> Connection {
        if let connection, connection.isAlive { return connection }
        if let connection {
            try? connection.reset()
            if connection.isConnected { return connection }
        }
        connection = nil
        let fresh = try Connection(url: url)
        connection = fresh
        return fresh
    }
}
