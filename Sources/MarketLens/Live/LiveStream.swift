import Foundation
import Postgres
import Web

/// One viewer's `GET /reports/{id}/events` (product.md §8), run on its request thread: `retry:` and
/// `connected`, the stored events after the viewer's last id, then live events from the hub, a heartbeat on a
/// fixed period, and the end after `completed` or `failed`.
///
/// Register-before-replay: the relay is registered first, so every event stored after that reaches its queue;
/// the replay then reads what is stored; events in the queue that the replay already sent are skipped by seq,
/// and a hole in the sequence (which the design should never produce) is filled from the log. So a viewer sees
/// each event exactly once, in order, whichever worker serves it.
struct LiveStream {
    let hub: RelayHub
    let report: Report
    let after: Int
    let baseURL: String

    /// Events read per replay query.
    static let replayPage = 500

    /// The response: the stream, or (when this process is at its stream cap) `retry:` and an immediate end.
    func response() -> Response {
        guard let relay = hub.register(reportID: report.id) else {
            let retry = hub.settings.shedRetryMilliseconds
            return Response.eventStream { writer in
                try writer.write(OutgoingEvent.retry(milliseconds: retry))
                try writer.flush()
            }
        }
        return Response.eventStream { writer in
            defer { hub.unregister(relay) }
            try run(relay, writer)
        }
    }

    private func run(_ relay: Relay, _ writer: any BodyWriter) throws {
        let connected = Self.jsonLine(["id": report.publicID, "state": report.status.rawValue]) ?? "{}"
        try writer.write(OutgoingEvent(event: "connected", data: connected, retry: 2000).encoded)
        try writer.flush()
        var sent = after
        if try replay(after: &sent, through: nil, writer) { return }
        if let terminal = synthesizedTerminal() {
            try writer.write(terminal)
            try writer.flush()
            return
        }
        let period = hub.settings.heartbeatSeconds
        var heartbeat = Date().addingTimeInterval(period)
        while true {
            switch relay.next(until: heartbeat) {
            case .events(let events):
                for event in events where event.seq > sent {
                    if event.seq > sent + 1, try replay(after: &sent, through: event.seq - 1, writer) { return }
                    guard event.seq > sent else { continue }
                    try writer.write(event.wire)
                    sent = event.seq
                    if event.isTerminal {
                        try writer.flush()
                        return
                    }
                }
                try writer.flush()
            case .timeout:
                try writer.write(OutgoingEvent.heartbeat)
                try writer.flush()
                heartbeat = Date().addingTimeInterval(period)
            case .resync:
                if try replay(after: &sent, through: nil, writer) { return }
            case .overflow:
                return
            case .closed:
                return
            }
        }
    }

    /// Sends the stored events after `sent` (up to `through`), page by page; true when one was terminal.
    private func replay(after sent: inout Int, through last: Int?, _ writer: any BodyWriter) throws -> Bool {
        let reportID = report.id
        while true {
            let from = sent
            let page = try hub.replay.perform { connection in
                try ReportEventLog.events(of: reportID, after: from, limit: Self.replayPage, on: connection)
                    .map(LiveEvent.init)
            }
            for event in page where event.seq > sent {
                if let last, event.seq > last { break }
                try writer.write(event.wire)
                sent = event.seq
                if event.isTerminal {
                    try writer.flush()
                    return true
                }
            }
            try writer.flush()
            if page.count < Self.replayPage || (last.map { sent >= $0 } ?? false) { return false }
        }
    }

    /// For a report that had already ended when the viewer connected but whose log holds no terminal event
    /// (ended before it had events): a terminal event built from the row, without an id.
    private func synthesizedTerminal() -> String? {
        switch report.status {
        case .completed:
            guard let slug = report.slug,
                  let json = Self.jsonLine(ReportEvent.CompletedPayload(
                    slug: slug, title: report.title, url: baseURL + "/r/" + slug))
            else { return nil }
            return OutgoingEvent(event: "completed", data: json).encoded
        case .failed, .cancelled:
            let message = report.status == .cancelled ? "The research was cancelled." : (report.error ?? "The research failed.")
            guard let json = Self.jsonLine(ReportEvent.FailedPayload(message: message)) else { return nil }
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
