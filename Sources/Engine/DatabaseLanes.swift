import Foundation
public import Logging
public import Postgres

/// The engine's small fixed set of database connections (`MARKETLENS_MONITOR_DB_CONNECTIONS`, default 2): one
/// thread per lane owns one connection and runs the jobs handed to it in order. Everything the monitors store
/// (events, completions, lease ticks, housekeeping) goes through a lane, so a process's monitor never holds more
/// connections than lanes, however many runs it follows. Jobs of one key always go to the same lane, which keeps
/// one run's events in order.
public final class DatabaseLanes: @unchecked Sendable {
    /// A unit of work on a lane's connection.
    public typealias Job = @Sendable (Connection) throws -> Void

    private final class Lane: @unchecked Sendable {
        let condition = NSCondition()
        var jobs: [(job: Job, failed: @Sendable (any Error) -> Void)] = []
        var closing = false
        var finished = false
    }

    private let url: String
    private let lanes: [Lane]
    private let logger: Logger

    /// Starts `count` lane threads for `url`; connections open on first use and reopen after a loss.
    public init(url: String, count: Int, logger: Logger) {
        self.url = url
        self.logger = logger
        lanes = (0..<max(1, count)).map { _ in Lane() }
        for (index, lane) in lanes.enumerated() {
            let thread = Thread { [self] in self.run(lane) }
            thread.name = "db-lane-\(index)"
            thread.start()
        }
    }

    /// How many lanes (and so, at most, connections).
    public var count: Int { lanes.count }

    /// The lane of `key`: the same key always lands on the same lane.
    public func lane(for key: Int64) -> Int { Int(UInt64(bitPattern: key) % UInt64(lanes.count)) }

    /// Queues `job` on lane `index`; it runs after the jobs queued before it. `failed` (on the lane thread) hears
    /// when it threw or could not run at all (no connection): after the warning that is always logged.
    public func submit(lane index: Int, _ job: @escaping Job, failed: @escaping @Sendable (any Error) -> Void = { _ in }) {
        let logger = logger
        enqueue(lane: index, job) { error in
            logger.warning("Database lane job failed", metadata: ["error": "\(error)"])
            failed(error)
        }
    }

    private func enqueue(lane index: Int, first: Bool = false, _ job: @escaping Job,
                         failed: @escaping @Sendable (any Error) -> Void) {
        let lane = lanes[index % lanes.count]
        lane.condition.lock()
        if first { lane.jobs.insert((job, failed), at: 0) } else { lane.jobs.append((job, failed)) }
        lane.condition.signal()
        lane.condition.unlock()
    }

    /// Runs `body` on lane `index` before the jobs already queued there (a lease tick must not wait behind a
    /// backlog of stores) and waits for its value (for threads that have nothing else to do meanwhile).
    public func sync<T: Sendable>(lane index: Int, _ body: @escaping @Sendable (Connection) throws -> T) throws -> T {
        let box = ResultBox<T>()
        enqueue(lane: index, first: true, { connection in
            box.set(Result { try body(connection) })
        }, failed: { box.set(.failure($0)) })
        return try box.wait()
    }

    /// Finishes the queued jobs, closes the connections and ends the lane threads.
    public func close() {
        for lane in lanes {
            lane.condition.lock()
            lane.closing = true
            lane.condition.broadcast()
            while !lane.finished { lane.condition.wait() }
            lane.condition.unlock()
        }
    }

    private func run(_ lane: Lane) {
        var connection: Connection?
        while true {
            lane.condition.lock()
            while lane.jobs.isEmpty && !lane.closing { lane.condition.wait() }
            // One job at a time, so a job queued first (a lease tick) runs next.
            let entry = lane.jobs.isEmpty ? nil : lane.jobs.removeFirst()
            lane.condition.unlock()
            guard let entry else { break }
            do {
                if let current = connection, !current.isAlive { connection = nil }
                let live = try connection ?? Connection(url: url)
                connection = live
                try entry.job(live)
            } catch {
                if let current = connection, !current.isAlive { connection = nil }
                entry.failed(error)
            }
        }
        connection = nil
        lane.condition.lock()
        lane.finished = true
        lane.condition.broadcast()
        lane.condition.unlock()
    }
}

/// Hands one result from a lane thread to the thread waiting in `DatabaseLanes.sync`.
private final class ResultBox<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<T, any Error>?

    func set(_ value: Result<T, any Error>) {
        condition.lock()
        result = value
        condition.signal()
        condition.unlock()
    }

    func wait() throws -> T {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return try result!.get()
    }
}
