import Foundation
import Postgres

/// Which event log a live stream follows: a report's (product.md §8) or a batch's (seed 001). Both logs have the
/// same shape (owner id, gap-free `seq`, type, JSON payload) and notify on a channel named like their table with
/// the payload `<owner id>:<seq>`, so one hub, one listener connection and one writer serve both.
public enum StreamChannel: String, Sendable, CaseIterable {
    case report = "report_events"
    case batch = "batch_events"

    /// The `LISTEN` channel (the table's name).
    var notifyChannel: String { rawValue }
}

/// One followed log: the channel and the owner's internal id. The relay hub groups viewers by it.
public struct StreamKey: Hashable, Sendable, CustomStringConvertible {
    public var channel: StreamChannel
    public var id: Int64

    public init(_ channel: StreamChannel, _ id: Int64) {
        self.channel = channel
        self.id = id
    }

    public var description: String { "\(channel.rawValue):\(id)" }
}

/// Reads the two event logs as the live streams send them (encoded once, shared by every viewer).
enum StreamLog {
    /// The events of `key` after `seq`, in order, at most `limit`.
    static func events(of key: StreamKey, after seq: Int, limit: Int, on connection: Connection) throws -> [LiveEvent] {
        switch key.channel {
        case .report:
            try ReportEventLog.events(of: key.id, after: seq, limit: limit, on: connection).map(LiveEvent.init)
        case .batch:
            try BatchStore.events(of: key.id, after: seq, limit: limit, on: connection).map(LiveEvent.init)
        }
    }

    /// Every event after the given seq of each log, grouped by log in seq order: one query for all reports,
    /// one per batch (batches are few and their events rare).
    static func fetch(after positions: [StreamKey: Int], on connection: Connection) throws -> [StreamKey: [LiveEvent]] {
        var events: [StreamKey: [LiveEvent]] = [:]
        let reports = positions.filter { $0.key.channel == .report }
        if !reports.isEmpty {
            let ids = "{" + reports.keys.map { String($0.id) }.joined(separator: ",") + "}"
            let afters = "{" + reports.keys.map { String(reports[$0] ?? 0) }.joined(separator: ",") + "}"
            let rows = try connection.query(
                """
                SELECT e.report_id, e.seq, e.type, e.payload::text AS payload, e.created_at
                FROM report_events e
                JOIN unnest(\(ids)::bigint[], \(afters)::int[]) AS w(report_id, after_seq)
                  ON e.report_id = w.report_id AND e.seq > w.after_seq
                ORDER BY e.report_id, e.seq
                """)
            for row in rows {
                let stored = try StoredReportEvent(row: row)
                events[StreamKey(.report, stored.reportID), default: []].append(LiveEvent(stored))
            }
        }
        for (key, after) in positions where key.channel == .batch {
            let list = try BatchStore.events(of: key.id, after: after, on: connection).map(LiveEvent.init)
            if !list.isEmpty { events[key] = list }
        }
        return events
    }
}
