import Foundation
public import Web

/// One viewer's event stream of a stored log (the app's report and batch streams) on its request thread: the opening bytes (`retry:`, `connected`), then the open
/// response is handed to the process's live writer thread, which replays the stored events after the viewer's
/// last id, sends live events from the hub and a heartbeat on a fixed period, and ends the stream after the
/// terminal event. The request thread is free again at once, so open streams cost no thread and no connection.
///
/// Register-before-replay: the relay is registered here, before the writer reads the log, so every event stored
/// after that read reaches the relay's queue; events the replay already sent are skipped by seq, and a hole in
/// the sequence (which the design should never produce) is filled from the log. So a viewer sees each event
/// exactly once, in order, whichever worker serves it.
public struct LiveStream: Sendable {
    let hub: RelayHub
    let key: StreamKey
    /// The viewer's address (per-client cap).
    let client: String
    let after: Int
    /// Written on the request thread before the hand-over (the `connected` event).
    let opening: String
    /// The terminal event to send after the replay when the log ended without one (a report that ended before
    /// it had events).
    let terminalIfEnded: [UInt8]?
    let style: StreamStyle
    /// Headers on top of `Response.eventStream`'s.
    public var headers: [String: String] = [:]

    /// A stream of `key`'s log for `client`, resuming after seq `after`.
    public init(hub: RelayHub, key: StreamKey, client: String, after: Int, opening: String,
                terminalIfEnded: [UInt8]? = nil, style: StreamStyle) {
        self.hub = hub
        self.key = key
        self.client = client
        self.after = after
        self.opening = opening
        self.terminalIfEnded = terminalIfEnded
        self.style = style
    }

    /// Events read per replay query.
    static let replayPage = 500

    /// The response: the stream, or `refused` when this process or this client is at its stream cap. The relay
    /// is registered when the response starts (so a response that never starts holds no slot); a viewer that
    /// lost a race for the last slot meanwhile gets `retry:` and an end.
    public func response(refused: (RelayHub.Refusal) -> Response) -> Response {
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
    public static func refusal(_ refusal: RelayHub.Refusal, _ request: Request, retryMilliseconds: Int) -> Response {
        if request.headers["Accept"]?.contains("text/event-stream") == true {
            return retryLater(retryMilliseconds)
        }
        let message = switch refusal {
        case .clientFull: "Too many open event streams from your address. Close some and try again."
        case .processFull: "This server holds as many event streams as it can. Please try again shortly."
        }
        return HTTPError.tooManyRequests(retryAfter: max(1, retryMilliseconds / 1000), message: message).jsonResponse()
    }

    /// A stream that only says when to come back.
    public static func retryLater(_ milliseconds: Int) -> Response {
        Response.eventStream { writer in
            try writer.write(OutgoingEvent.retry(milliseconds: milliseconds))
            try writer.flush()
        }
    }
}
