import Foundation
public import Logging
import Postgres

/// The monitoring thread of one worker process (product.md §2, §7.4): claims active runs with a lease
/// (`FOR UPDATE SKIP LOCKED`), follows each on a follower thread of its own, renews the leases while it follows,
/// reconciles uncertain creates, sends due e-mail, and on shutdown stops its followers and releases its leases so
/// another process takes over at once. A crashed process's runs are taken over when their leases expire.
public struct ReportMonitor: BackgroundService {
    public var name: String { "report-monitor" }
    /// This process's lease owner id (`hostname:pid:random`).
    public let ownerID: String
    let configuration: AppConfiguration
    let completion: ReportCompletion
    let logger: Logger

    /// A monitor for `configuration`, finishing reports with `completion`.
    public init(configuration: AppConfiguration, completion: ReportCompletion, logger: Logger,
                ownerID: String = ReportMonitor.makeOwnerID()) {
        self.configuration = configuration
        self.completion = completion
        self.ownerID = ownerID
        var logger = logger
        logger[metadataKey: "lease_owner"] = "\(ownerID)"
        self.logger = logger
    }

    /// `hostname:pid:random`, unique per process start.
    public static func makeOwnerID() -> String {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "\(ProcessInfo.processInfo.hostName.prefix(64)):\(ProcessInfo.processInfo.processIdentifier):\(random)"
    }

    public func run(until stop: any StopSignal) {
        let database = DatabaseSession(url: configuration.databaseURL)
        var followers: [Int64: FollowHandle] = [:]
        var sender: EmailOutbox.Sender?
        var senderChecked = false
        var nextMaintenance = Date()
        logger.info("Report monitor started")
        while !stop.isRequested {
            do {
                try database.withConnection { connection in
                    followers = followers.filter { !$0.value.isDone }
                    try renewLeases(of: &followers, on: connection)
                    let free = configuration.monitor.maxRunsPerProcess - followers.count
                    if free > 0 {
                        for claimed in try claimRuns(limit: free, on: connection) {
                            followers[claimed.reportID] = claimed
                            startFollower(claimed)
                        }
                    }
                    try reconcileUncertainCreates(on: connection)
                    if !senderChecked {
                        senderChecked = true
                        sender = try EmailOutbox.Sender(configuration: configuration, logger: logger)
                    }
                    try sender?.sendDue(limit: 20, on: connection)
                    if Date() >= nextMaintenance {
                        nextMaintenance = Date().addingTimeInterval(Self.maintenanceInterval)
                        try runMaintenance(on: connection)
                    }
                }
            } catch {
                logger.warning("Report monitor pass failed", metadata: ["error": "\(error)"])
            }
            _ = stop.wait(timeout: .milliseconds(Int(configuration.monitor.loopInterval * 1000)))
        }
        shutDown(followers: followers, database: database)
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

    /// Stops every follower, waits briefly for them, and releases this process's leases.
    private func shutDown(followers: [Int64: FollowHandle], database: DatabaseSession) {
        for handle in followers.values { handle.requestStop() }
        // A follower notices the stop when bytes arrive; a quiet stream may take longer than we wait. Its later
        // writes are harmless (deduplicated events, conditional completion).
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, followers.values.contains(where: { !$0.isDone }) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        do {
            let released = try database.withConnection { connection in
                try ReportStore.releaseLeases(owner: ownerID, on: connection)
            }
            logger.info("Report monitor stopped", metadata: ["released_leases": "\(released)"])
        } catch {
            logger.warning("Releasing leases failed; they expire on their own", metadata: ["error": "\(error)"])
        }
    }

    /// Extends the leases of the runs being followed; a follower whose lease is gone (finished, or taken over
    /// after we stalled) is told to stop.
    func renewLeases(of followers: inout [Int64: FollowHandle], on connection: Connection) throws {
        guard !followers.isEmpty else { return }
        let ids = Array(followers.keys)
        let renewed = try ReportStore.renewLeases(
            ids, owner: ownerID, leaseSeconds: configuration.monitor.leaseSeconds, on: connection)
        for (id, handle) in followers where !renewed.contains(id) {
            handle.requestStop()
            followers[id] = nil
        }
    }

    /// Leases up to `limit` active runs nobody holds (or whose lease expired).
    func claimRuns(limit: Int, on connection: Connection) throws -> [FollowHandle] {
        try ReportStore.claimRuns(
            owner: ownerID, leaseSeconds: configuration.monitor.leaseSeconds, limit: limit, on: connection
        ).map { FollowHandle(reportID: $0.reportID, runID: $0.runID) }
    }

    /// Runs a follower for `handle` on a thread of its own (libcurl and libpq block).
    private func startFollower(_ handle: FollowHandle) {
        let configuration = configuration
        let completion = completion
        var logger = logger
        logger[metadataKey: "report_id"] = "\(handle.reportID)"
        let thread = Thread { [logger] in
            defer { handle.markDone() }
            let follower = ReportRunFollower(
                reportID: handle.reportID, runID: handle.runID, configuration: configuration, completion: completion,
                logger: logger, shouldStop: { handle.isStopRequested })
            do {
                let ending = try follower.run()
                logger.debug("Follower ended", metadata: ["ending": "\(ending)"])
            } catch {
                // The lease runs out and the run is claimed again, by us or another process.
                logger.warning("Following a run failed", metadata: ["error": "\(error)"])
            }
        }
        thread.name = "follow-\(handle.reportID)"
        thread.start()
        logger.info("Following run", metadata: ["report_id": "\(handle.reportID)"])
    }
}
