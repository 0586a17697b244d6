public import Engine
import Foundation
public import Logging
import Postgres

/// The lease runner of every batch in this worker process (a `BackgroundService`). Every tick renews the leases of
/// all the batches it holds in one statement and claims free or expired ones in another (`LeasedWork`, under the
/// process's one `LeaseOwner`), through the process's database lanes. Each claimed batch is followed by a
/// `BatchWork` on the process's one monitoring thread (`FollowLoopThread`, shared with the report monitor): no
/// thread and no connection per batch. A worker killed mid-batch stops renewing; once the lease expires another
/// worker's monitor claims the batch and resumes from the state stored in PostgreSQL (group id, group event
/// cursor, per-domain rows, events with dedupe keys).
public struct BatchMonitor: BackgroundService {
    public let name = "batch-monitor"
    let configuration: AppConfiguration
    let settings: BatchSettings
    let lanes: DatabaseLanes?
    let loop: FollowLoopThread?
    let owner: String
    let logger: Logger

    /// A monitor for the app's database and Parallel settings, ticking through `lanes` (one lane of its own when
    /// nil) and following batches on `loop` (its own monitoring thread when nil).
    public init(configuration: AppConfiguration, settings: BatchSettings, logger: Logger,
                lanes: DatabaseLanes? = nil, owner: String = LeaseOwner.current, loop: FollowLoopThread? = nil) {
        self.configuration = configuration
        self.settings = settings
        self.lanes = lanes
        self.loop = loop
        self.owner = owner
        self.logger = logger
    }

    public func run(until stop: any StopSignal) {
        let lanes = self.lanes ?? DatabaseLanes(url: configuration.databaseURL, count: 1, logger: logger)
        defer { if self.lanes == nil { lanes.close() } }
        let work = LeasedWork(statements: BatchStore.leaseStatements, owner: owner,
                              leaseSeconds: Double(settings.leaseSeconds), capacity: settings.maxActiveBatches)
        let shared: FollowLoopThread
        let context: BatchFollowContext
        do {
            shared = try self.loop ?? FollowLoopThread(lanes: lanes, logger: logger)
            context = try BatchFollowContext(configuration: configuration, settings: settings, owner: owner,
                                             logger: logger, ended: { work.drop($0) })
        } catch {
            logger.error("Batch monitor could not start", metadata: ["error": "\(error)"])
            return
        }
        shared.attach()
        let loop = shared.loop
        let interval = Duration.milliseconds(Int(min(configuration.monitor.loopInterval, Double(settings.leaseSeconds) / 3) * 1000))
        repeat {
            do {
                let tick = try lanes.sync(lane: 0) { try work.tick(on: $0) }
                if !tick.claimed.isEmpty || !tick.lost.isEmpty {
                    loop.enqueue {
                        for id in tick.lost { loop.cancel(.batch(id)) }
                        for id in tick.claimed { loop.follow(.batch(id), BatchWork(batchID: id, context: context)) }
                    }
                }
            } catch {
                logger.warning("batch monitor: database problem, retrying", metadata: ["error": "\(error)"])
            }
        } while !stop.wait(timeout: interval)
        shared.detach(kind: FollowKey.batchKind)
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
