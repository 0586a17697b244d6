import Foundation
import Postgres
import Web

/// One viewer's event stream of a stored log (a report's `GET /reports/{id}/events`, product.md §8, or a
/// batch's seed-001 stream) on its request thread: the opening bytes (`retry:`, `connected`), then the open
/// response is handed to the process's live writer thread, which replays the stored events after the viewer's
/// last id, sends live events from the hub and a heartbeat on a fixed period, and ends the stream after the
/// terminal event. The request thread is free again at once, so open streams cost no thread and no connection.
///
/// Register-before-replay: the relay is registered here, before the writer reads the log, so every event stored
/// after that read reaches the relay's queue; events the replay already sent are skipped by seq, and a hole in
/// the sequence (which the design should never produce) is filled from the log. So a viewer sees each event
/// exactly once, in order, whichever worker serves it.
struct LiveStream {
    let hub: RelayHub
    let key: StreamKey
    /// The viewer's address (per-client cap).
    let client: String
    let after: Int
    /// Written on the request thread before the hand-over (the `connected` event).
    let opening: String
    /// The terminal event to send after the replay when the log ended without one (reports only).
    var terminalIfEnded: [UInt8]? = nil
    let style: StreamStyle
    /// Headers on top of `Response.eventStream`'s.
    var headers: [String: String] = [:]

    /// Events read per replay query.
    static let replayPage = 500

    /// A report's stream.
    static func report(_ report: Report, hub: RelayHub, client: String, after: Int, baseURL: String) -> LiveStream {
        let connected = jsonLine(["id": report.publicID, "state": report.status.rawValue]) ?? "{}"
        return LiveStream(
            hub: hub, key: StreamKey(.report, report.id), client: client, after: after,
            opening: OutgoingEvent(event: "connected", data: connected, retry: 2000).encoded,
            terminalIfEnded: synthesizedTerminal(report, baseURL: baseURL).map { Array($0.utf8) },
            style: .report(heartbeatSeconds: hub.settings.heartbeatSeconds))
    }

    /// The response: the stream, or `refused` when this process or this client is at its stream cap. The relay
    /// is registered when the response starts (so a response that never starts holds no slot); a viewer that
    /// lost a race for the last slot meanwhile gets `retry:` and an end.
    func response(refused: (RelayHub.Refusal) -> Response) -> Response {
        if let refusal = hub.refusal(for: client) { return refused(refusal) }
        let handoff = (hub: hub, key: key, client: client, after: after, terminal: terminalIfEnded, style: style,
                       opening: opening)
        var response = Response.eventStream { writer in
            guard case .success(let relay) = handoff.hub.register(handoff.key, client: handoff.client) else {
                try writer.write(OutgoingEvent.retry(milliseconds: handoff.hub.settings.shedRetryMilliseconds))
                try writer.flush()
                return
            }
            var handedOff = false
            defer { if !handedOff { handoff.hub.unregister(relay) } }
            try writer.write(handoff.opening)
            try writer.flush()
            guard let body = writer.detach() else {
                // Only a transport that cannot hand responses over gets here; the viewer reconnects.
                handoff.hub.log.error("live stream could not leave its request thread")
                return
            }
            handedOff = true
            let adopted = handoff.hub.writer.adopt(LiveHandoff(
                relay: relay, body: body, after: handoff.after, terminalIfEnded: handoff.terminal, style: handoff.style))
            if !adopted {
                handoff.hub.unregister(relay)
                body.close()
            }
        }
        for (name, value) in headers { response.headers[name] = value }
        return response
    }

    /// The answer to a refused stream: an SSE client (which must not give up for good, as `EventSource` does on
    /// any status but 200) gets `retry:` and an immediate end; anyone else a 429 JSON error with `Retry-After`.
    static func refusal(_ refusal: RelayHub.Refusal, _ request: Request, retryMilliseconds: Int) -> Response {
        if request.headers["Accept"]?.contains("text/event-stream") == true {
            return LiveController.retryLater(retryMilliseconds)
        }
        let message = switch refusal {
        case .clientFull: "Too many open event streams from your address. Close some and try again."
        case .processFull: "This server holds as many event streams as it can. Please try again shortly."
        }
        return HTTPError.tooManyRequests(retryAfter: max(1, retryMilliseconds / 1000), message: message).jsonResponse()
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
