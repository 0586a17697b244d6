import Foundation
import Logging
import Postgres

/// The hub's listener thread: one connection per process `LISTEN`ing on `report_events` (payload
/// `<report id>:<seq>`). Each burst of notifications becomes one query for the reports that have viewers, and
/// each event is encoded once for all of them. After losing the connection it reconnects with back-off and asks
/// every relay to re-read the log, so a database restart loses nothing.
struct RelayListener: BackgroundService {
    let hub: RelayHub
    var name: String { "live-relay-hub" }

    func run(until stop: any StopSignal) {
        var delay = 0.25
        while !stop.isRequested {
            do {
                let connection = try hub.makeConnection()
                try connection.listen("report_events")
                delay = 0.25
                hub.resyncAll()
                try follow(connection, until: stop)
            } catch {
                hub.log.warning("live relay hub lost its database connection; reconnecting",
                                metadata: ["error": "\(error)"])
                if stop.wait(timeout: .milliseconds(Int(delay * 1000))) { break }
                delay = min(delay * 2, 5)
            }
        }
        hub.closeAll()
    }

    private func follow(_ connection: Connection, until stop: any StopSignal) throws {
        while !stop.isRequested {
            let notifications = try connection.waitForNotifications(timeout: 0.5)
            guard !notifications.isEmpty else { continue }
            var notified: [Int64: Int] = [:]
            for notification in notifications {
                let parts = notification.payload.split(separator: ":")
                guard parts.count == 2, let report = Int64(parts[0]), let seq = Int(parts[1]) else { continue }
                notified[report] = min(notified[report] ?? seq, seq)
            }
            let positions = hub.fetchPositions(notified: notified)
            guard !positions.isEmpty else { continue }
            hub.deliver(try Self.fetch(after: positions, on: connection))
        }
    }

    /// Every event after the given seq of each report, in one query, grouped by report in seq order.
    static func fetch(after positions: [Int64: Int], on connection: Connection) throws -> [Int64: [LiveEvent]] {
        let reports = "{" + positions.keys.map(String.init).joined(separator: ",") + "}"
        let afters = "{" + positions.keys.map { String(positions[$0] ?? 0) }.joined(separator: ",") + "}"
        let rows = try connection.query(
            """
            SELECT e.report_id, e.seq, e.type, e.payload::text AS payload, e.created_at
            FROM report_events e
            JOIN unnest(\(reports)::bigint[], \(afters)::int[]) AS w(report_id, after_seq)
              ON e.report_id = w.report_id AND e.seq > w.after_seq
            ORDER BY e.report_id, e.seq
            """)
        var events: [Int64: [LiveEvent]] = [:]
        for row in rows {
            let stored = try StoredReportEvent(row: row)
            events[stored.reportID, default: []].append(LiveEvent(stored))
        }
        return events
    }
}
