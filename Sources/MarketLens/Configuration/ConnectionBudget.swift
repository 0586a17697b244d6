import Engine
public import Postgres

/// Every PostgreSQL connection one worker process can ever open, as fixed numbers: what `marketlens doctor`
/// adds up over the workers and compares with the server's `max_connections`.
///
/// A worker opens connections in exactly these places, each bounded:
/// - the request threads' shared pool (`requestPool`, `MARKETLENS_DB_CONNECTIONS`, never more than the threads);
/// - the monitors of report runs and batches (`monitor`, `MARKETLENS_MONITOR_DB_CONNECTIONS`): every run and
///   batch the process follows stores through these, however many there are;
/// - the live streams' replay threads, one connection each (`replay`, `MARKETLENS_REPLAY_THREADS`);
/// - the relay hub's one `LISTEN` connection (`listen`).
/// A lost connection is closed before its replacement opens, so a restart never adds to these.
public struct ConnectionBudget: Sendable, Equatable, CustomStringConvertible {
    /// Connections the request threads share (at most one per thread).
    public var requestPool: Int
    /// Connections of the report and batch monitors.
    public var monitor: Int
    /// Connections of the live streams' replay threads.
    public var replay: Int
    /// The relay hub's `LISTEN` connection.
    public var listen = 1
    /// Worker processes (`MARKETLENS_WORKERS`).
    public var workers: Int
    /// Connections kept free for the admin CLI (`marketlens migrate`, `status`, `runs resume`, an operator's
    /// `psql`) while the workers use their whole budget.
    public var cliHeadroom = 5

    /// Explicit numbers (tests).
    public init(requestPool: Int, monitor: Int, replay: Int, workers: Int) {
        self.requestPool = requestPool
        self.monitor = monitor
        self.replay = replay
        self.workers = workers
    }

    /// Reads `MARKETLENS_DB_CONNECTIONS` (10, capped at `threads`), `MARKETLENS_MONITOR_DB_CONNECTIONS` (2) and
    /// `MARKETLENS_REPLAY_THREADS` (as `LiveSettings` reads it).
    init(reader: EnvironmentReader, threads: Int, workers: Int) throws(ConfigurationError) {
        let pool = try reader.integer("MARKETLENS_DB_CONNECTIONS", default: 10, range: 1...1024)
        self.init(
            requestPool: min(pool, threads),
            monitor: try reader.integer("MARKETLENS_MONITOR_DB_CONNECTIONS", default: 2, range: 1...64),
            replay: LiveSettings(environment: reader.environment).replayThreads,
            workers: workers)
    }

    /// The most connections one worker process opens.
    public var perWorker: Int { requestPool + monitor + replay + listen }
    /// The most connections the workers of this host open, plus the CLI's headroom.
    public var total: Int { perWorker * workers + cliHeadroom }

    /// Whether `total` fits in what the server lets ordinary roles use.
    public func fits(in server: ServerConnectionLimit) -> Bool { total <= server.available }

    public var description: String {
        "per worker \(perWorker) (requests \(requestPool) + monitor \(monitor) + replay \(replay) + listen \(listen))"
            + " × \(workers) workers + \(cliHeadroom) CLI = \(total)"
    }
}

/// What a PostgreSQL server allows: `max_connections` less the slots kept for superusers (and, from PostgreSQL
/// 16, for roles with `pg_use_reserved_connections`), which Marketlens's role cannot use.
public struct ServerConnectionLimit: Sendable, Equatable, CustomStringConvertible {
    /// `SHOW max_connections`.
    public var maxConnections: Int
    /// `superuser_reserved_connections` + `reserved_connections`.
    public var reserved: Int

    /// The server's limits.
    public init(maxConnections: Int, reserved: Int) {
        self.maxConnections = maxConnections
        self.reserved = reserved
    }

    /// Connections ordinary roles may open.
    public var available: Int { maxConnections - reserved }

    public var description: String { "\(available) available (max_connections \(maxConnections) - \(reserved) reserved)" }
}

extension ServerConnectionLimit {
    /// Reads the server's limits (`reserved_connections` exists from PostgreSQL 16; older servers count 0).
    public static func read(on connection: Connection) throws -> ServerConnectionLimit {
        let row = try connection.queryFirst("""
            SELECT current_setting('max_connections')::int AS max,
                   current_setting('superuser_reserved_connections')::int
                   + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved
            """)
        return ServerConnectionLimit(maxConnections: try row?.int("max") ?? 0, reserved: try row?.int("reserved") ?? 0)
    }
}
