import Engine
import Foundation
import Postgres

/// Stores mapped upstream events and keeps the report rows' live columns (status, progress, sources) current.
enum ReportProgress {
    /// One report's events of one pass, in order.
    struct Events: Sendable {
        let reportID: Int64
        let events: [RunEventMapping.Mapped]
    }

    /// How the monitor stores a pass's events: a lane writes those of every run in its job with one `record`.
    static let merged = MergedStore<Events> { batches, connection in
        _ = try record(batches, on: connection)
    }

    /// Appends each report's events to its log in order (each once per dedupe key) and, from those that were new,
    /// raises the row's progress figures, keeps the last non-empty source list and moves a queued report to
    /// running: one statement for all the reports (`record_reports_events`, which locks the active ones first, in
    /// id order, so nothing is appended after a completion committed by someone else). Returns one seq per event,
    /// in the order given: nil for a duplicate, or for every event of a report that is no longer active.
    @discardableResult
    static func record(_ batches: [Events], on connection: Connection) throws -> [Int?] {
        let events = batches.flatMap { batch in batch.events.map { (batch.reportID, $0) } }
        guard !events.isEmpty else { return [] }
        let progress = events.map { _, mapped -> ReportEvent.ProgressPayload? in
            if case .progress(let progress) = mapped.event { return progress }
            return nil
        }
        let recent = try progress.map { payload -> String? in
            guard let sources = payload?.recentSources, !sources.isEmpty else { return nil }
            return try PostgresJSON(encoding: sources).text
        }
        let rows = try connection.query(
            """
            SELECT s.seq FROM unnest(record_reports_events(
                \(events.map(\.0)), \(events.map(\.1.event.type))::text[],
                \(try events.map { try $0.1.event.payloadJSON() })::jsonb[], \(events.map(\.1.dedupeKey))::text[],
                \(progress.map { $0.map { String($0.progress) } })::float8[],
                \(progress.map { $0.map { String($0.sourcesConsidered) } })::integer[],
                \(progress.map { $0.map { String($0.sourcesRead) } })::integer[], \(recent)::jsonb[],
                \(events.map { Optional(String($0.1.marksRunning)) })::boolean[])) WITH ORDINALITY AS s(seq, n)
            ORDER BY s.n
            """)
        guard rows.count == events.count else {
            throw PostgresError(.statementFailed, call: "record_reports_events",
                                message: "recorded \(rows.count) of \(events.count) events")
        }
        return try rows.map { try $0.optionalInt("seq") }
    }
}
