public import Engine
import Foundation
public import Postgres
import Web

/// The app's two event logs, as the engine's live streams follow them: a report's (product.md §8) and a batch's
/// (seed 001). Both tables have the same shape (owner id, gap-free `seq`, type, JSON payload) and notify on a
/// channel named like the table with the payload `<owner id>:<seq>`.
public enum StreamChannel: String, Sendable, CaseIterable {
    case report = "report_events"
    case batch = "batch_events"
}

extension StreamKey {
    /// The log of report or batch `id`.
    init(_ channel: StreamChannel, _ id: Int64) {
        self.init(channel: channel.rawValue, id: id)
    }
}

extension LiveEvent {
    /// Encodes an event of a report's log.
    init(_ event: StoredReportEvent) {
        self.init(seq: event.seq, type: event.type, data: event.payloadJSON,
                  isTerminal: event.type == "completed" || event.type == "failed")
    }

    /// Encodes a stored batch event (its payload already in the seed's key order).
    init(_ event: StoredBatchEvent) {
        self.init(seq: event.seq, type: event.type, data: event.data,
                  isTerminal: BatchEventType(rawValue: event.type)?.isTerminal == true)
    }
}

/// Reads the two event logs as the live streams send them (encoded once, shared by every viewer).
public struct AppEventLogs: EventLogReader {
    public init() {}

    public var channels: [String] { StreamChannel.allCases.map(\.rawValue) }

    public func events(of key: StreamKey, after seq: Int, limit: Int, on connection: Connection) throws -> [LiveEvent] {
        switch StreamChannel(rawValue: key.channel) {
        case .report:
            try ReportEventLog.events(of: key.id, after: seq, limit: limit, on: connection).map(LiveEvent.init)
        case .batch:
            try BatchStore.events(of: key.id, after: seq, limit: limit, on: connection).map(LiveEvent.init)
        case nil:
            []
        }
    }

    /// One query for all reports, one per batch (batches are few and their events rare).
    public func fetch(after positions: [StreamKey: Int], on connection: Connection) throws -> [StreamKey: [LiveEvent]] {
        var events: [StreamKey: [LiveEvent]] = [:]
        let reports = positions.filter { $0.key.channel == StreamChannel.report.rawValue }
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
        for (key, after) in positions where key.channel == StreamChannel.batch.rawValue {
            let list = try BatchStore.events(of: key.id, after: after, on: connection).map(LiveEvent.init)
            if !list.isEmpty { events[key] = list }
        }
        return events
    }
}

extension LiveStream {
    /// A report's stream.
    static func report(_ report: Report, hub: RelayHub, client: String, after: Int, baseURL: String) -> LiveStream {
        let connected = jsonLine(["id": report.publicID, "state": report.status.rawValue]) ?? "{}"
        return LiveStream(
            hub: hub, key: StreamKey(.report, report.id), client: client, after: after,
            opening: OutgoingEvent(event: "connected", data: connected, retry: 2000).encoded,
            terminalIfEnded: synthesizedTerminal(report, baseURL: baseURL).map { Array($0.utf8) },
            style: .commentHeartbeat(seconds: hub.settings.heartbeatSeconds))
    }

    /// For a report that had already ended when the viewer connected but whose log holds no terminal event
    /// (ended before it had events): a terminal event built from the row, without an id.
    private static func synthesizedTerminal(_ report: Report, baseURL: String) -> String? {
        switch report.status {
        case .completed:
            guard let slug = report.slug,
                  let json = jsonLine(ReportEvent.CompletedPayload(
                    slug: slug, title: report.title, url: baseURL + "/r/" + slug))
            else { return nil }
            return OutgoingEvent(event: "completed", data: json).encoded
        case .failed, .cancelled:
            let message = report.status == .cancelled ? "The research was cancelled." : (report.error ?? "The research failed.")
            guard let json = jsonLine(ReportEvent.FailedPayload(message: message)) else { return nil }
            return OutgoingEvent(event: "failed", data: json).encoded
        case .queued, .running:
            return nil
        }
    }

    /// `value` as compact one-line JSON.
    static func jsonLine(_ value: some Encodable) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }
}
