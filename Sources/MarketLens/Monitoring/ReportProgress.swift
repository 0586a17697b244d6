import Foundation
import Postgres

/// Stores mapped upstream events and keeps the report row's live columns (status, progress, sources) current.
enum ReportProgress {
    /// Appends `events` to the report's log in order (each once per dedupe key) and, from those that were new,
    /// raises the row's progress figures, keeps the last non-empty source list and moves a queued report to
    /// running: one statement (`record_report_events`, which locks the row first so nothing is appended after a
    /// completion committed by someone else). Returns the new events' seqs (nil for a duplicate); empty when the
    /// report is no longer active.
    @discardableResult
    static func record(_ events: [RunEventMapping.Mapped], reportID: Int64, on connection: Connection) throws -> [Int?] {
        guard !events.isEmpty else { return [] }
        let progress = events.map { mapped -> ReportEvent.ProgressPayload? in
            if case .progress(let progress) = mapped.event { return progress }
            return nil
        }
        let recent = try progress.map { payload -> String? in
            guard let sources = payload?.recentSources, !sources.isEmpty else { return nil }
            return String(decoding: try JSONEncoder().encode(sources), as: UTF8.self)
        }
        let rows = try connection.query(
            """
            SELECT s.seq FROM unnest(record_report_events(
                \(reportID), \(events.map(\.event.type))::text[], \(try events.map { try $0.event.payloadJSON() })::jsonb[],
                \(events.map(\.dedupeKey))::text[], \(progress.map { $0.map { String($0.progress) } })::float8[],
                \(progress.map { $0.map { String($0.sourcesConsidered) } })::integer[],
                \(progress.map { $0.map { String($0.sourcesRead) } })::integer[], \(recent)::jsonb[],
                \(events.map { Optional(String($0.marksRunning)) })::boolean[])) WITH ORDINALITY AS s(seq, n)
            ORDER BY s.n
            """)
        guard rows.isEmpty || rows.count == events.count else {
            throw PostgresError(.statementFailed, call: "record_report_events",
                                message: "recorded \(rows.count) of \(events.count) events")
        }
        return try rows.map { try $0.optionalInt("seq") }
    }
}
