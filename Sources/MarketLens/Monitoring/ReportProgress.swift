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
            guard let status = try ReportStore.status(of: reportID, lock: true, on: connection), status.isActive
            else { return nil }
            guard let seq = try ReportEventLog.append(mapped.event, to: reportID, dedupeKey: mapped.dedupeKey,
                                                      on: connection)
            else { return nil }
            if case .progress(let progress) = mapped.event {
                let recent = try PostgresJSON(encoding: progress.recentSources)
                try ReportStore.recordProgress(
                    reportID: reportID, progress: progress.progress, considered: progress.sourcesConsidered,
                    read: progress.sourcesRead, recentSources: recent, on: connection)
            }
            if mapped.marksRunning {
                try markRunning(reportID: reportID, on: connection)
            }
            return seq
        }
    }

    /// `queued → running` (one conditional UPDATE; a no-op when already running or finished).
    static func markRunning(reportID: Int64, on connection: Connection) throws {
        try ReportStore.markRunning(reportID: reportID, on: connection)
    }
}
