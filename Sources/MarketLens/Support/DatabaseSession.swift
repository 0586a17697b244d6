public import Postgres
import Web

/// How one thread reaches the database: a connection taken from a `ConnectionPool` for each `withConnection`
/// call and given back right after, so a request thread holds no connection between its statements. Request
/// threads share their worker's pool (`MarketLensApp.requestPool`); `init(url:)` makes a private pool of one
/// connection (a background service of its own). Not shared between threads.
///
/// A database restart is invisible to visitors: a connection the server closed is noticed before anything is
/// sent on it (`Connection.isAlive`, when it is taken from the pool) and replaced, and a read-only `body` that
/// loses its connection midway is run once more on a fresh one. Anything else that loses the database (a write
/// whose fate is unknown, no server to connect to, or every pooled connection busy past the pool's wait limit)
/// answers 503 with `Retry-After`, never 500.
public final class DatabaseSession {
    private let pool: ConnectionPool
    /// The connection of the `withConnection` call in progress: a nested call uses it too.
    private var current: Connection?

    /// Seconds a visitor is asked to wait when the database is unreachable.
    static let retryAfterSeconds = 2

    /// A session drawing on `pool`.
    public init(pool: ConnectionPool) { self.pool = pool }

    /// A session with a private pool of one connection to `url`; nothing is opened yet.
    public convenience init(url: String) { self.init(pool: ConnectionPool(url: url, size: 1)) }

    /// Runs `body` with a live connection. `readOnly`: `body` changes nothing, so it is run again on a fresh
    /// connection when its connection is lost midway. A call inside another's `body` runs on the same connection.
    public func withConnection<T>(readOnly: Bool = false, _ body: (Connection) throws -> T) throws -> T {
        if let current { return try body(current) }
        do {
            return try attempt(body)
        } catch let error as PostgresError where error.isConnectionLost {
            guard readOnly, error.kind != .connectionFailed else { throw Self.unavailable }
        }
        do {
            return try attempt(body)
        } catch let error as PostgresError where error.isConnectionLost {
            throw Self.unavailable
        }
    }

    /// One run of `body` on a pooled connection; a lost connection is discarded, any other outcome gives it back.
    private func attempt<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection: Connection
        do {
            connection = try pool.checkOut()
        } catch is ConnectionPoolExhausted {
            throw Self.unavailable
        }
        current = connection
        defer { current = nil }
        do {
            let value = try body(connection)
            pool.checkIn(connection)
            return value
        } catch let error as PostgresError where error.isConnectionLost {
            pool.discard(connection)
            throw error
        } catch {
            pool.checkIn(connection)
            throw error
        }
    }

    /// The answer when the database cannot be reached.
    static var unavailable: HTTPError {
        HTTPError(status: 503, code: "database_unavailable",
                  message: "Marketlens is briefly unavailable. Please try again in a moment.",
                  headers: ["Retry-After": String(retryAfterSeconds)])
    }
}
