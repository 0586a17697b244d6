import Foundation
import Postgres

/// The view model of the live progress page (templates/report-live.mustache): the state as stored, which the
/// page's script then keeps current from the event stream.
enum LiveView {
    /// What the page shows before any event arrives: the latest progress and the last few messages.
    struct Snapshot {
        var progress: ReportEvent.ProgressPayload?
        var feed: [(seq: Int, text: String, kind: String)] = []
        var lastSeq = 0

        static func load(_ report: Report, on connection: Connection, messages: Int) throws -> Snapshot {
            var snapshot = Snapshot()
            let progressRow = try connection.queryFirst(
                """
                SELECT payload::text AS payload FROM report_events
                WHERE report_id = \(report.id) AND type = 'progress' ORDER BY seq DESC LIMIT 1
                """)
            if let payload = try progressRow?.string("payload") {
                snapshot.progress = try? JSONDecoder().decode(ReportEvent.ProgressPayload.self, from: Data(payload.utf8))
            }
            let rows = try connection.query(
                """
                SELECT seq, type, payload::text AS payload FROM report_events
                WHERE report_id = \(report.id) AND type IN ('message', 'status', 'error')
                ORDER BY seq DESC LIMIT \(messages)
                """)
            for row in rows.reversed() {
                let type = try row.string("type")
                guard let event = try? ReportEvent(type: type, payloadJSON: try row.string("payload")),
                      let line = feedLine(event) else { continue }
                snapshot.feed.append((try row.int("seq"), line.text, line.kind))
            }
            snapshot.lastSeq = try connection.queryFirst(
                "SELECT coalesce(max(seq), 0) AS seq FROM report_events WHERE report_id = \(report.id)"
            )?.int("seq") ?? 0
            return snapshot
        }
    }

    /// The text a feed line shows for an event, if it has one (the script applies the same rule).
    static func feedLine(_ event: ReportEvent) -> (text: String, kind: String)? {
        switch event {
        case .message(let message): (message.text, "message")
        case .status(let status): status.message.isEmpty ? nil : (status.message, "status")
        case .error(let error): (error.message, "error")
        default: nil
        }
    }

    /// The template values.
    static func page(report: Report, snapshot: Snapshot, csrfToken: String) -> [String: Any] {
        let progress = snapshot.progress
        let percent = min(100, max(0, progress?.progress ?? report.progressMeter))
        let considered = progress?.sourcesConsidered ?? report.sourcesConsidered
        let read = progress?.sourcesRead ?? report.sourcesRead
        let sources = (progress?.recentSources ?? report.recentSources).compactMap(sourceLink).suffix(5)
        let failed = report.status == .failed || report.status == .cancelled
        let label = report.region.isEmpty ? report.industry : "\(report.industry) – \(report.region)"
        // Counted from the request, which is what the visitor has been waiting for; the script keeps it ticking.
        let elapsed = max(0, Int(Date().timeIntervalSince(report.createdAt)))
        return [
            "elapsedSeconds": elapsed,
            "elapsed": elapsedText(seconds: elapsed),
            "processor": report.processor,
            "typicalDuration": ConsoleProcessor.named(report.processor)?.latency ?? "",
            "title": failed ? "Research failed: \(label)" : "Researching \(label)",
            "description": "Live progress of a Marketlens research run.",
            "report": [
                "id": report.publicID, "title": report.title, "label": label, "focus": report.focus,
            ] as [String: Any],
            "state": stateLabel(report.status),
            "running": report.status.isActive,
            "failed": failed,
            "failureMessage": report.status == .cancelled
                ? "The research was cancelled." : (report.error ?? "The research run failed."),
            "percent": Int(percent.rounded()),
            "percentValue": String(format: "%.0f", percent),
            "sourcesConsidered": considered,
            "sourcesRead": read,
            "recentSources": Array(sources),
            "hasSources": !sources.isEmpty,
            "feed": snapshot.feed.map { ["seq": $0.seq, "text": $0.text, "kind": $0.kind] as [String: Any] },
            "hasFeed": !snapshot.feed.isEmpty,
            "eventsURL": "/reports/\(report.publicID)/events?last_event_id=\(snapshot.lastSeq)",
            "lastEventID": snapshot.lastSeq,
            "csrfToken": csrfToken,
        ]
    }

    /// `45 s`, `3 min 05 s`, `1 h 02 min` (static/js/live.js writes the same).
    static func elapsedText(seconds: Int) -> String {
        let seconds = max(0, seconds)
        if seconds < 60 { return "\(seconds) s" }
        if seconds < 3600 { return "\(seconds / 60) min " + String(format: "%02d s", seconds % 60) }
        return "\(seconds / 3600) h " + String(format: "%02d min", seconds % 3600 / 60)
    }

    /// What a person reads for a state.
    static func stateLabel(_ status: Report.Status) -> String {
        switch status {
        case .queued: "Queued"
        case .running: "Researching"
        case .completed: "Complete"
        case .failed: "Failed"
        case .cancelled: "Cancelled"
        }
    }

    /// A recent source as a link, http(s) only; shown by host and path.
    static func sourceLink(_ url: String) -> [String: String]? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { return nil }
        let path = components.path == "/" ? "" : components.path
        let label = host + path
        return ["url": url, "label": label.count > 80 ? String(label.prefix(79)) + "…" : label]
    }
}
