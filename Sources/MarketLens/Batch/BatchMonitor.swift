import Foundation
public import Logging
import Postgres

/// The owner of every running batch in this worker process (a `BackgroundService`). It claims batches whose
/// lease is free or expired (`FOR UPDATE SKIP LOCKED`, so workers never claim the same one), and follows each
/// on its own thread (`BatchRunner`), which renews the lease while it works. A worker killed mid-batch stops
/// renewing; once the lease expires another worker's monitor claims the batch and resumes from the state
/// stored in PostgreSQL (group id, group event cursor, per-domain rows, events with dedupe keys).
public struct BatchMonitor: BackgroundService {
    public let name = "batch-monitor"
    let configuration: AppConfiguration
    let settings: BatchSettings
    let logger: Logger

    /// A monitor for the app's database and Parallel settings.
    public init(configuration: AppConfiguration, settings: BatchSettings, logger: Logger) {
        self.configuration = configuration
        self.settings = settings
        self.logger = logger
    }

    public func run(until stop: any StopSignal) {
        let owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        let active = ActiveBatches()
        var connection: Connection?
        while !stop.isRequested {
            do {
                let live = try connection ?? Self.open(configuration.databaseURL)
                connection = live
                while active.count < settings.maxActiveBatches, !stop.isRequested,
                      let claimed = try claim(owner: owner, on: live) {
                    guard active.insert(claimed) else { continue }
                    let runner = BatchRunner(batchID: claimed, owner: owner, configuration: configuration,
                                             settings: settings, stop: stop, logger: logger)
                    let thread = Thread {
                        runner.run()
                        active.remove(claimed)
                    }
                    thread.name = "batch-\(claimed)"
                    thread.start()
                }
                // New batches announce themselves with their first event; expired leases are found by the re-poll.
                _ = try live.waitForNotifications(timeout: 1.0)
            } catch {
                logger.warning("batch monitor: database problem, retrying", metadata: ["error": "\(error)"])
                connection = nil
                _ = stop.wait(timeout: .seconds(2))
            }
        }
        // Runners see the same stop signal and hand their leases back; give them a moment.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(5))
        while active.count > 0, clock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
    }

    static func open(_ url: String) throws -> Connection {
        let connection = try Connection(url: url)
        try connection.listen("batch_events")
        return connection
    }

    /// Takes the lease of one queued batch, or of a running one whose owner stopped renewing.
    func claim(owner: String, on connection: Connection) throws -> Int64? {
        try connection.queryFirst(
            """
            UPDATE batches SET lease_owner = \(owner),
                   lease_expires_at = now() + make_interval(secs => \(Double(settings.leaseSeconds))),
                   status = 'running', started_at = coalesce(started_at, now())
            WHERE id = (SELECT id FROM batches
                        WHERE status IN ('queued', 'running')
                          AND (lease_expires_at IS NULL OR lease_expires_at < now())
                        ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id
            """
        ).map { try $0.int64("id") }
    }
}

/// The batch ids this process follows (shared by the monitor and its runner threads).
final class ActiveBatches: @unchecked Sendable {
    private let lock = NSLock()
    private var ids = Set<Int64>()

    var count: Int { lock.withLock { ids.count } }
    func insert(_ id: Int64) -> Bool { lock.withLock { ids.insert(id).inserted } }
    func remove(_ id: Int64) { _ = lock.withLock { ids.remove(id) } }
}
