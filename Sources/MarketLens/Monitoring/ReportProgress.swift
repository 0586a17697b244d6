import Foundation
import Postgres

/// Stores mapped upstream events and keeps the report row's live columns (status, progress, sources) current.
enum ReportProgress {
    /// Appends `events` to the report's log in order (each once per dedupe key, all in one statement) and updates
    /// the row from those that were new, in one transaction (the caller's, when one is open: the monitor's lane
    /// jobs write many runs in one, and a savepoint each would cost two more round trips per store). Returns the
    /// new events' seqs (nil for a duplicate); empty when the report is no longer active. At most four statements
    /// whatever the number of events, two when they carry no progress figures and the report is running.
    @discardableResult
    static func record(_ events: [RunEventMapping.Mapped], reportID: Int64, on connection: Connection) throws -> [Int?] {
        guard !events.isEmpty else { return [] }
        let write = { (connection: Connection) throws -> [Int?] in
            // Lock first, so nothing is appended after a completion committed by someone else.
            guard let status = try ReportStore.status(of: reportID, lock: true, on: connection), status.isActive
            else { return [] }
            let seqs = try ReportEventLog.append(events.map { ($0.event, $0.dedupeKey) }, to: reportID, on: connection)
            let new = zip(events, seqs).filter { $0.1 != nil }.map(\.0)
            let progress = new.compactMap { mapped -> ReportEvent.ProgressPayload? in
                if case .progress(let progress) = mapped.event { return progress }
                return nil
            }
            if let last = progress.last {
                // What storing them one by one leaves: the highest figures, the last non-empty source list.
                let recent = try PostgresJSON(encoding: progress.last(where: { !$0.recentSources.isEmpty })?.recentSources ?? [])
                try ReportStore.recordProgress(
                    reportID: reportID, progress: progress.map(\.progress).max() ?? last.progress,
                    considered: progress.map(\.sourcesConsidered).max() ?? last.sourcesConsidered,
                    read: progress.map(\.sourcesRead).max() ?? last.sourcesRead, recentSources: recent, on: connection)
            }
            if status == .queued, new.contains(where: \.marksRunning) {
                try markRunning(reportID: reportID, on: connection)
            }
            return seqs
        }
        return connection.isInTransaction ? try write(connection) : try connection.transaction(write)
    }

    /// `queued → running` (one conditional UPDATE; a no-op when already running or finished).
    static func markRunning(reportID: Int64, on connection: Connection) throws {
        try ReportStore.markRunning(reportID: reportID, on: connection)
    }
}
