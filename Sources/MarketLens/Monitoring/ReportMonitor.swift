public import Engine
import Foundation
public import Logging
import Postgres
import Synchronization

/// The report monitor of one worker process (product.md §2, §7.4). Its service thread is the lease runner: every
/// `loopInterval` it renews the leases it holds and claims more (`LeasedWork`: two statements, however many
/// runs), reconciles uncertain creates, sends due e-mail and runs maintenance. The runs it holds are followed by
/// the process's one monitoring thread (`FollowLoopThread`: one libcurl multi handle for every run and every batch
/// group), which stores through the process's database lanes. On shutdown it stops following its runs and releases its leases in one statement so another
/// process takes over at once; a crashed process's runs are taken over when their leases expire.
public struct ReportMonitor: BackgroundService {
    public var name: String { "report-monitor" }
    /// This process's lease owner id (`LeaseOwner.current` unless a test plays several processes).
    public let ownerID: String
    let configuration: AppConfiguration
    let completion: ReportCompletion
    let lanes: DatabaseLanes?
    let loop: FollowLoopThread?
    let logger: Logger

    /// A monitor for `configuration`, finishing reports with `completion`, storing through `lanes` (its own,
    /// `MARKETLENS_MONITOR_DB_CONNECTIONS` of them, when nil) and following runs on `loop` (the process's one
    /// monitoring thread, shared with the batch monitor; its own when nil).
    public init(configuration: AppConfiguration, completion: ReportCompletion, logger: Logger,
                ownerID: String = LeaseOwner.current, lanes: DatabaseLanes? = nil, loop: FollowLoopThread? = nil) {
        self.configuration = configuration
        self.completion = completion
        self.ownerID = ownerID
        self.lanes = lanes
        self.loop = loop
        var logger = logger
        logger[metadataKey: "lease_owner"] = "\(ownerID)"
        self.logger = logger
    }

    /// A fresh owner id (tests play several processes in one).
    public static func makeOwnerID() -> String { LeaseOwner.make() }

    public func run(until stop: any StopSignal) {
        let lanes = self.lanes ?? DatabaseLanes(
            url: configuration.databaseURL, count: configuration.monitor.databaseConnections, logger: logger)
        defer { if self.lanes == nil { lanes.close() } }
        let settings = configuration.monitor
        let work = LeasedWork(statements: ReportStore.leaseStatements, owner: ownerID,
                              leaseSeconds: settings.leaseSeconds, capacity: settings.maxRunsPerProcess)
        let shared: FollowLoopThread
        let context: ReportFollowContext
        do {
            shared = try self.loop ?? FollowLoopThread(lanes: lanes, logger: logger)
            context = try ReportFollowContext(configuration: configuration, completion: completion, logger: logger,
                                              ended: { work.drop($0) })
        } catch {
            logger.error("Report monitor could not start", metadata: ["error": "\(error)"])
            return
        }
        shared.attach()
        let loop = shared.loop
        logger.info("Report monitor started")

        let housekeeping = Housekeeping(monitor: self)
        repeat {
            do {
                let tick = try lanes.sync(lane: 0) { try work.tick(on: $0) }
                if !tick.claimed.isEmpty || !tick.lost.isEmpty {
                    loop.enqueue {
                        for id in tick.lost { loop.cancel(.report(id)) }
                        for run in tick.claimed {
                            loop.follow(.report(run.reportID), ReportRunFollow(reportID: run.reportID, runID: run.runID,
                                                                      context: context))
                        }
                    }
                }
                housekeeping.start(on: lanes)
            } catch {
                logger.warning("Report monitor pass failed", metadata: ["error": "\(error)"])
            }
        } while !stop.wait(timeout: .milliseconds(Int(settings.loopInterval * 1000)))

        shared.detach(kind: FollowKey.reportKind)
        do {
            let released = try lanes.sync(lane: 0) { try work.releaseAll(on: $0) }
            logger.info("Report monitor stopped", metadata: ["released_leases": "\(released)"])
        } catch {
            logger.warning("Releasing leases failed; they expire on their own", metadata: ["error": "\(error)"])
        }
    }

    /// How often the maintenance pass runs (address erasure, expired Idempotency-Keys).
    static let maintenanceInterval: Double = 300

    /// Erases e-mail addresses past their retention and expired Idempotency-Keys.
    func runMaintenance(on connection: Connection) throws {
        let counts = try AddressErasure.run(days: configuration.monitor.emailRetentionDays, on: connection)
        if counts != AddressErasure.Counts() {
            logger.info("Maintenance pass", metadata: [
                "erased_report_addresses": "\(counts.reports)", "erased_outbox_addresses": "\(counts.emails)",
                "expired_idempotency_keys": "\(counts.idempotencyKeys)",
            ])
        }
    }
}

/// The monitor's chores besides following runs, run on the last database lane once per tick: the one retry of an
/// uncertain create, due e-mail, and (every five minutes) maintenance. The tick does not wait for them (sending
/// e-mail waits for Resend, and a lease renewal must not wait behind that), and a pass starts only when the last
/// one has ended, so one pass runs at a time (hence `@unchecked Sendable`).
private final class Housekeeping: @unchecked Sendable {
    let monitor: ReportMonitor
    private var sender: EmailOutbox.Sender?
    private var senderChecked = false
    private var nextMaintenance = Date()
    private let running = Mutex(false)

    init(monitor: ReportMonitor) { self.monitor = monitor }

    /// Queues a pass on the last lane unless one is still queued or running.
    func start(on lanes: DatabaseLanes) {
        guard running.withLock({ busy in defer { busy = true }; return !busy }) else { return }
        lanes.submit(lane: lanes.count - 1, { [self] connection in
            defer { running.withLock { $0 = false } }
            try pass(on: connection)
        }, failed: { [self] _ in running.withLock { $0 = false } })
    }

    func pass(on connection: Connection) throws {
        try monitor.reconcileUncertainCreates(on: connection)
        if !senderChecked {
            senderChecked = true
            sender = try EmailOutbox.Sender(configuration: monitor.configuration, logger: monitor.logger)
        }
        try sender?.sendDue(limit: EmailOutbox.messagesPerPass, on: connection)
        if Date() >= nextMaintenance {
            nextMaintenance = Date().addingTimeInterval(ReportMonitor.maintenanceInterval)
            try monitor.runMaintenance(on: connection)
        }
    }
}
