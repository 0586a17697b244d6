import Foundation
import Postgres
import Web

/// One viewer's `GET /reports/{id}/events` (product.md §8) on its request thread: `retry:` and `connected`,
/// then the open response is handed to the process's live writer thread, which replays the stored events after
/// the viewer's last id, sends live events from the hub and a heartbeat on a fixed period, and ends the stream
/// after `completed` or `failed`. The request thread is free again at once, so open streams cost no thread.
///
/// Register-before-replay: the relay is registered here, before the writer reads the log, so every event stored
/// after that read reaches the relay's queue; events the replay already sent are skipped by seq, and a hole in
/// the sequence (which the design should never produce) is filled from the log. So a viewer sees each event
/// exactly once, in order, whichever worker serves it.
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
        let connected = Self.jsonLine(["id": report.publicID, "state": report.status.rawValue]) ?? "{}"
        let handoff = (hub: hub, after: after, terminal: synthesizedTerminal().map { Array($0.utf8) })
        return Response.eventStream { writer in
            var handedOff = false
            defer { if !handedOff { handoff.hub.unregister(relay) } }
            try writer.write(OutgoingEvent(event: "connected", data: connected, retry: 2000).encoded)
            try writer.flush()
            guard let body = writer.detach() else {
                // Only a transport that cannot hand responses over gets here; the viewer reconnects in 2 s.
                handoff.hub.log.error("live stream could not leave its request thread")
                return
            }
            handedOff = true
            let adopted = handoff.hub.writer.adopt(
                LiveHandoff(relay: relay, body: body, after: handoff.after, terminalIfEnded: handoff.terminal))
            if !adopted {
                handoff.hub.unregister(relay)
                body.close()
            }
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
