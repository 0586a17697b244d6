import Foundation
import Postgres

/// Stores mapped upstream events and keeps the report row's live columns (status, progress, sources) current.
enum ReportProgress {
    /// Appends `mapped` to the report's log (once per dedupe key) and updates the row, in one transaction.
    /// Returns the new event's seq, or nil when it was a duplicate or the report is no longer active.
    @discardableResult
    static func record(_ mapped: RunEventMapping.Mapped, reportID: Int64, on connection: Connection) throws -> Int? {
        try connection.transaction { connection in
            // Lock first, so nothing is appended after a completion committed by someone else.
            guard let row = try connection.queryFirst(
                "SELECT status FROM reports WHERE id = \(reportID) FOR UPDATE"),
                let status = Report.Status(rawValue: try row.string("status")), status.isActive
            else { return nil }
            guard let seq = try ReportEventLog.append(mapped.event, to: reportID, dedupeKey: mapped.dedupeKey,
                                                      on: connection)
            else { return nil }
            if case .progress(let progress) = mapped.event {
                let recent = try PostgresJSON(encoding: progress.recentSources)
                try connection.execute(
                    """
                    UPDATE reports SET progress_meter = GREATEST(progress_meter, \(progress.progress)),
                        sources_considered = GREATEST(sources_considered, \(progress.sourcesConsidered)),
                        sources_read = GREATEST(sources_read, \(progress.sourcesRead)),
                        recent_sources = CASE WHEN jsonb_array_length(\(recent)) > 0 THEN \(recent) ELSE recent_sources END
                    WHERE id = \(reportID)
                    """)
            }
            if mapped.marksRunning {
                try markRunning(reportID: reportID, on: connection)
            }
            return seq
        }
    }

    /// `queued → running` (one conditional UPDATE; a no-op when already running or finished).
    static func markRunning(reportID: Int64, on connection: Connection) throws {
        try connection.execute(
            """
            UPDATE reports SET status = 'running', started_at = coalesce(started_at, now())
            WHERE id = \(reportID) AND status = 'queued'
            """)
    }
}
