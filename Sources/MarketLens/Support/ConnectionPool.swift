import Foundation
public import Postgres

/// A fixed number of PostgreSQL connections shared by the request threads of one worker process, so the
/// connections a worker can ever open do not grow with its threads or its visitors (`ConnectionBudget`).
///
/// A thread takes a connection for one `DatabaseSession.withConnection` call and gives it back right after.
/// Connections are opened lazily up to `size` and kept; one the server closed (a restart) is noticed when it is
/// taken (`Connection.isAlive`) and replaced before anything is sent on it; one lost during use, or left inside a
/// transaction, is closed instead of being given back, so it is never handed to the next request. When all are in
/// use a thread waits up to `waitLimit` for one, then gets `ConnectionPoolExhausted` (answered 503 with
/// `Retry-After`), never an extra connection.
///
/// A deliberate shared object behind an `NSCondition` (threads wait on it for a free connection). A `Connection`
/// is not `Sendable`: it moves between threads only through this lock, and only one thread uses it at a time.
public final class ConnectionPool: @unchecked Sendable {
    /// What the connections connect to.
    public let url: String
    /// The most connections this pool ever has open at once.
    public let size: Int
    /// How long a thread waits for a free connection before giving up.
    public let waitLimit: Duration

    private let condition = NSCondition()
    private var idle: [Connection] = []
    /// Connections open now: idle, in use, or being opened.
    private var open = 0
    private var waits = 0
    private var timeouts = 0

    /// A pool of at most `size` connections to `url`; nothing is opened yet.
    public init(url: String, size: Int, waitLimit: Duration = .seconds(2)) {
        self.url = url
        self.size = max(1, size)
        self.waitLimit = waitLimit
    }

    /// A live connection for the calling thread's exclusive use until `checkIn` or `discard`.
    /// Throws `ConnectionPoolExhausted` after `waitLimit` without a free one, or the `PostgresError` of a failed
    /// connect (the database is down).
    public func checkOut() throws -> Connection {
        let deadline = Date(timeIntervalSinceNow: Self.seconds(waitLimit))
        var waited = false
        condition.lock()
        while true {
            if let connection = idle.popLast() {
                condition.unlock()
                if connection.isAlive { return connection }
                // Closed by the server while idle (a restart): drop it (outside the lock) and look again.
                condition.lock()
                open -= 1
                continue
            }
            if open < size {
                open += 1
                condition.unlock()
                do {
                    return try Connection(url: url)
                } catch {
                    release()
                    throw error
                }
            }
            if !waited {
                waited = true
                waits += 1
            }
            if !condition.wait(until: deadline) {
                timeouts += 1
                condition.unlock()
                throw ConnectionPoolExhausted(size: size)
            }
        }
    }

    /// Gives a connection back after use. One that is no longer usable as a fresh session (lost, or still in a
    /// transaction after an error) is closed instead.
    public func checkIn(_ connection: Connection) {
        guard connection.isConnected, !connection.isInTransaction else {
            discard(connection)
            return
        }
        condition.lock()
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }

    /// Forgets a connection that was lost or cannot be reused, making room for a fresh one; it closes when the
    /// caller drops its last reference (outside the lock).
    public func discard(_ connection: Connection) {
        release()
    }

    /// How the pool is used, for `/metrics`.
    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return Statistics(size: size, open: open, idle: idle.count, waits: waits, timeouts: timeouts)
    }

    /// A snapshot of the pool's use.
    public struct Statistics: Sendable, Equatable {
        /// The most connections the pool may open.
        public var size: Int
        /// Connections open now (idle or in use).
        public var open: Int
        /// Open connections nobody uses now.
        public var idle: Int
        /// Times since start a thread found every connection in use and had to wait.
        public var waits: Int
        /// Times since start a thread waited `waitLimit` in vain (each answered 503).
        public var timeouts: Int
    }

    private func release() {
        condition.lock()
        open -= 1
        condition.signal()
        condition.unlock()
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Every connection of a `ConnectionPool` stayed in use for its whole wait limit.
public struct ConnectionPoolExhausted: Error, CustomStringConvertible {
    /// The pool's size.
    public let size: Int
    public var description: String { "all \(size) database connections of the pool stayed in use" }
}
