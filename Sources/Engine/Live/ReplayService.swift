import Foundation
public import Logging
public import Postgres

/// Runs the database reads of live streams (report look-up, replay) on a few dedicated threads that each own
/// one connection, so that thousands of open streams cost a handful of database connections instead of one each.
///
/// Jobs must only read: one whose connection was lost midway (a database restart) is run again on a fresh one.
/// A stream's request thread hands a job over and sleeps until a replay thread has run it. The job queue is a
/// deliberate shared object (behind an `NSCondition`): it is the hand-over point between those threads.
public final class ReplayService: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [Job] = []
    private var stopped = false
    private let databaseURL: String
    private let logger: Logger

    /// Jobs are run against `databaseURL` by the threads `services(count:)` describes.
    public init(databaseURL: String, logger: Logger) {
        self.databaseURL = databaseURL
        self.logger = logger
    }

    /// The replay threads to run as background services.
    public func services(count: Int) -> [any BackgroundService] {
        (0..<max(1, count)).map { ReplayThread(service: self, index: $0) }
    }

    /// Runs `work` on a replay thread's connection and returns its result; throws `LiveUnavailable` when no
    /// replay thread answered within `timeout` (database down, process stopping) or `work` failed.
    public func perform<T: Sendable>(
        timeout: Duration = .seconds(10), _ work: @escaping @Sendable (Connection) throws -> T
    ) throws -> T {
        let job = Job(timeout: timeout, completion: nil) { connection in try work(connection) as any Sendable }
        guard enqueue(job) else { throw LiveUnavailable(reason: "stopping") }
        return try Self.cast(job.wait())
    }

    /// Runs `work` on a replay thread and hands its result to `completion` there, without waiting (the live
    /// writer must never block on the database). `completion` runs exactly once, also with `LiveUnavailable`
    /// when the job was not run in time or the service is stopping.
    public func submit<T: Sendable>(
        timeout: Duration = .seconds(10), _ work: @escaping @Sendable (Connection) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let job = Job(timeout: timeout, completion: { outcome in completion(Result { try Self.cast(outcome) }) }) {
            connection in try work(connection) as any Sendable
        }
        if !enqueue(job) { completion(.failure(LiveUnavailable(reason: "stopping"))) }
    }

    private func enqueue(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private static func cast<T>(_ outcome: Result<any Sendable, any Error>) throws -> T {
        switch outcome {
        case .success(let value as T): return value
        case .success: throw LiveUnavailable(reason: "unexpected result")
        case .failure(let error): throw error
        }
    }

    fileprivate func take(stop: any StopSignal) -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty {
            if stop.isRequested {
                stopped = true
                return nil
            }
            _ = condition.wait(until: Date().addingTimeInterval(0.25))
        }
        return jobs.removeFirst()
    }

    /// Once stopped: fails the jobs nobody will run, so that every completion still runs.
    fileprivate func abandonQueued() {
        condition.lock()
        stopped = true
        let left = jobs
        jobs = []
        condition.unlock()
        for job in left { job.finish(.failure(LiveUnavailable(reason: "stopping"))) }
    }

    fileprivate func makeConnection() throws -> Connection { try Connection(url: databaseURL) }
    fileprivate var log: Logger { logger }
}

/// The live stream could not read the database in time.
public struct LiveUnavailable: Error, Sendable, CustomStringConvertible {
    /// Why, safe to log.
    public var reason: String
    public var description: String { "live stream unavailable: \(reason)" }
}

/// One job with the slot its result lands in (a waiting requester), or the completion it is handed to.
fileprivate final class Job: @unchecked Sendable {
    let work: @Sendable (Connection) throws -> any Sendable
    private let completion: (@Sendable (Result<any Sendable, any Error>) -> Void)?
    private let condition = NSCondition()
    private let deadline: Date
    // Guarded by `condition`.
    private var outcome: Result<any Sendable, any Error>?
    private var abandoned = false

    init(timeout: Duration, completion: (@Sendable (Result<any Sendable, any Error>) -> Void)?,
         work: @escaping @Sendable (Connection) throws -> any Sendable) {
        self.work = work
        self.completion = completion
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        deadline = Date().addingTimeInterval(seconds)
    }

    /// False when the requester already gave up or the deadline passed (the job is skipped, and a completion
    /// told so).
    var isWanted: Bool {
        condition.lock()
        let wanted = !abandoned && Date() < deadline
        condition.unlock()
        if !wanted, completion != nil { finish(.failure(LiveUnavailable(reason: "database timeout"))) }
        return wanted
    }

    func finish(_ result: Result<any Sendable, any Error>) {
        condition.lock()
        let first = outcome == nil
        if first { outcome = result }
        condition.signal()
        condition.unlock()
        if first { completion?(result) }
    }

    func wait() -> Result<any Sendable, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil {
            if !condition.wait(until: deadline) && outcome == nil {
                abandoned = true
                return .failure(LiveUnavailable(reason: "database timeout"))
            }
        }
        return outcome ?? .failure(LiveUnavailable(reason: "no result"))
    }
}

/// One replay thread: its own connection, reopened after a failure.
struct ReplayThread: BackgroundService {
    let service: ReplayService
    let index: Int
    var name: String { "live-replay-\(index)" }

    func run(until stop: any StopSignal) {
        var connection: Connection?
        defer { service.abandonQueued() }
        while let job = service.take(stop: stop) {
            guard job.isWanted else { continue }
            do {
                // Jobs only read, so one that lost its connection midway runs once more on a fresh one.
                var attempts = 0
                while true {
                    attempts += 1
                    if connection?.isAlive != true { connection = try service.makeConnection() }
                    guard let live = connection else { throw LiveUnavailable(reason: "no connection") }
                    do {
                        job.finish(.success(try job.work(live)))
                        break
                    } catch let error as PostgresError where error.isConnectionLost && attempts == 1 {
                        connection = nil
                    }
                }
            } catch let error as PostgresError where error.isConnectionLost {
                connection = nil
                job.finish(.failure(LiveUnavailable(reason: "database connection lost")))
            } catch {
                if connection?.isConnected == false { connection = nil }
                service.log.warning("live replay failed", metadata: ["error": "\(error)"])
                job.finish(.failure(LiveUnavailable(reason: "database error")))
            }
        }
    }
}
