public import Engine
import Foundation
public import Logging
import Postgres

/// The owner of every running batch in this worker process (a `BackgroundService`). Its thread is the engine's
/// lease runner for batches (`LeasedWork`, under the process's one `LeaseOwner`): every tick renews the leases of
/// all the batches it holds in one statement and claims free or expired ones in another, through the process's
/// database lanes. Each claimed batch is driven by a `BatchRunner` until it ends or its lease is lost. A worker
/// killed mid-batch stops renewing; once the lease expires another worker's monitor claims the batch and resumes
/// from the state stored in PostgreSQL (group id, group event cursor, per-domain rows, events with dedupe keys).
public struct BatchMonitor: BackgroundService {
    public let name = "batch-monitor"
    let configuration: AppConfiguration
    let settings: BatchSettings
    let lanes: DatabaseLanes?
    let owner: String
    let logger: Logger

    /// A monitor for the app's database and Parallel settings, ticking through `lanes` (one lane of its own when nil).
    public init(configuration: AppConfiguration, settings: BatchSettings, logger: Logger,
                lanes: DatabaseLanes? = nil, owner: String = LeaseOwner.current) {
        self.configuration = configuration
        self.settings = settings
        self.lanes = lanes
        self.owner = owner
        self.logger = logger
    }

    public func run(until stop: any StopSignal) {
        let lanes = self.lanes ?? DatabaseLanes(url: configuration.databaseURL, count: 1, logger: logger)
        defer { if self.lanes == nil { lanes.close() } }
        let work = LeasedWork(statements: BatchStore.leaseStatements, owner: owner,
                              leaseSeconds: Double(settings.leaseSeconds), capacity: settings.maxActiveBatches)
        let runners = BatchRunners()
        let interval = Duration.milliseconds(Int(min(configuration.monitor.loopInterval, Double(settings.leaseSeconds) / 3) * 1000))
        repeat {
            do {
                let tick = try lanes.sync(lane: 0) { try work.tick(on: $0) }
                for id in tick.lost { runners.stop(id) }
                for id in tick.claimed {
                    let runnerStop = runners.start(id)
                    let runner = BatchRunner(batchID: id, owner: owner, configuration: configuration,
                                             settings: settings, stop: runnerStop, logger: logger)
                    let thread = Thread {
                        runner.run()
                        work.drop(id)
                        runners.ended(id)
                    }
                    thread.name = "batch-\(id)"
                    thread.start()
                }
            } catch {
                logger.warning("batch monitor: database problem, retrying", metadata: ["error": "\(error)"])
            }
        } while !stop.wait(timeout: interval)
        runners.stopAll(waitingUpTo: 5)
        do {
            _ = try lanes.sync(lane: 0) { try work.releaseAll(on: $0) }
        } catch {
            logger.warning("Releasing batch leases failed; they expire on their own", metadata: ["error": "\(error)"])
        }
    }

    /// Takes the lease of one queued batch, or of a running one whose owner stopped renewing.
    func claim(owner: String, on connection: Connection) throws -> Int64? {
        try BatchStore.claimBatches(owner: owner, leaseSeconds: Double(settings.leaseSeconds), limit: 1,
                                    on: connection).first
    }
}

/// The batches this process drives, each with the stop latch its runner waits on (shutdown or a lost lease).
final class BatchRunners: @unchecked Sendable {
    private let condition = NSCondition()
    private var stops: [Int64: StopLatch] = [:]

    func start(_ id: Int64) -> StopLatch {
        condition.lock()
        defer { condition.unlock() }
        let latch = StopLatch()
        stops[id] = latch
        return latch
    }

    func stop(_ id: Int64) {
        condition.lock()
        let latch = stops[id]
        condition.unlock()
        latch?.request()
    }

    func ended(_ id: Int64) {
        condition.lock()
        stops[id] = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Stops every runner and waits (on a condition, woken as each one ends) up to `seconds` for them.
    func stopAll(waitingUpTo seconds: Double) {
        condition.lock()
        let latches = Array(stops.values)
        condition.unlock()
        for latch in latches { latch.request() }
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        while !stops.isEmpty, condition.wait(until: deadline) {}
        condition.unlock()
    }
}
