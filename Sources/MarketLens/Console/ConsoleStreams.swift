public import Engine
import Foundation
import HTTPClient
public import Logging
import Synchronization
import Web

/// The task console's open event relays of one process (architecture.md, "Live streams"): each viewer's
/// upstream `GET /v1beta/tasks/runs/{id}/events` is a transfer on one libcurl multi handle, driven by one thread
/// that also writes every viewer's detached response. A relay costs no request thread and no thread of its own;
/// when the viewer leaves (nginx closes the connection) its transfer is removed at the next turn of the loop.
///
/// The hand-over point between request threads and that thread is the `Mutex`-guarded inbox; the thread owns
/// everything else.
public final class ConsoleStreams: Sendable {
    /// One relay as its request thread hands it over.
    struct Handoff: Sendable {
        let request: HTTPRequest
        let body: any DetachedBody
        /// The viewer's address: its slot in the hub's per-client count is given back at the end.
        let client: String
    }

    private struct Inbox {
        var adopted: [Handoff] = []
        var waker: HTTPStreamSetWaker?
        var stopped = false
    }

    let hub: RelayHub
    let logger: Logger
    /// How often a quiet relay sends a comment line (also how a departed viewer is noticed without a hang-up).
    let heartbeatSeconds: Double
    /// Upstream closes a stream after 570 s; this bounds a relay even if it does not.
    let maxSeconds: Double
    /// Bytes a viewer may fall behind before it is disconnected (its `EventSource` reconnects).
    static let backlogLimit = 1 << 20
    /// How often every relay is looked at even without news: a departed viewer is noticed within this.
    static let sweepSeconds = 0.25
    private let inbox = Mutex(Inbox())

    public init(hub: RelayHub, logger: Logger, heartbeatSeconds: Double = 10, maxSeconds: Double = 600) {
        self.hub = hub
        self.logger = logger
        self.heartbeatSeconds = heartbeatSeconds
        self.maxSeconds = maxSeconds
    }

    /// The relay thread, as a background service of the worker process.
    public var services: [any BackgroundService] { [ConsoleStreamThread(streams: self)] }

    /// Relays `request`'s event stream into the response `writer` is writing: takes the client's stream slot
    /// (or answers `retry:` when it lost the race for the last one), detaches the response and hands it over.
    func relay(_ request: HTTPRequest, client: String, to writer: any BodyWriter) throws {
        if hub.reserveSlot(client: client) != nil {
            try writer.write(OutgoingEvent.retry(milliseconds: hub.settings.shedRetryMilliseconds))
            try writer.flush()
            return
        }
        guard let body = writer.detach() else {
            hub.releaseSlot(client: client)
            logger.error("console relay could not leave its request thread")
            return
        }
        if !adopt(Handoff(request: request, body: body, client: client)) {
            hub.releaseSlot(client: client)
            body.close()
        }
    }

    /// Takes over an open response; false when the thread has stopped (the caller closes it).
    func adopt(_ handoff: Handoff) -> Bool {
        let waker = inbox.withLock { box -> HTTPStreamSetWaker?? in
            guard !box.stopped else { return .none }
            box.adopted.append(handoff)
            return .some(box.waker)
        }
        guard let waker else { return false }
        waker?.wakeUp()
        return true
    }

    fileprivate func take(publishing waker: HTTPStreamSetWaker?, stopping: Bool) -> [Handoff] {
        inbox.withLock { box in
            if let waker { box.waker = waker }
            if stopping { box.stopped = true }
            defer { box.adopted = [] }
            return box.adopted
        }
    }
}

/// One relayed stream on the relay thread.
private final class ConsoleRelayStream {
    let id: String
    let handoff: ConsoleStreams.Handoff
    let opened = Date()
    var lastWrite = Date()
    var status = 0
    var errorBody: [UInt8] = []
    /// The last bytes relayed (to know whether a comment may be inserted between events).
    var tail: [UInt8] = [10, 10]
    var outbox: [UInt8] = []
    var upstreamDone = false
    var gone = false
    /// Something happened upstream since its last turn (bytes, the end): it gets a turn at the next wake-up.
    var touched = true

    init(id: String, handoff: ConsoleStreams.Handoff) {
        self.id = id
        self.handoff = handoff
    }

    var body: any DetachedBody { handoff.body }

    /// Writes what fits without waiting; false when the viewer is gone.
    func pump(now: Date) -> Bool {
        guard !outbox.isEmpty else { return true }
        guard body.isWritable else { return true }
        let end = min(outbox.count, body.writeChunkBytes)
        do {
            try body.write(Array(outbox[0..<end]))
            try body.flush()
        } catch {
            return false
        }
        outbox.removeFirst(end)
        lastWrite = now
        return true
    }
}

/// The relay thread: polls the multi handle (woken for new relays), moves upstream bytes to the viewers, sends
/// heartbeats, enforces the time limit and ends relays whose viewer left.
struct ConsoleStreamThread: BackgroundService {
    let streams: ConsoleStreams
    var name: String { "console-relays" }

    func run(until stop: any StopSignal) {
        let set: HTTPStreamSet
        do {
            set = try HTTPStreamSet()
        } catch {
            streams.logger.error("console relays cannot start", metadata: ["error": "\(error)"])
            for handoff in streams.take(publishing: nil, stopping: true) { end(handoff) }
            return
        }
        var relays: [String: ConsoleRelayStream] = [:]
        var serial = 0
        let waker = set.waker
        var nextSweep = Date()
        while true {
            let stopping = stop.isRequested
            for handoff in streams.take(publishing: waker, stopping: stopping) {
                serial += 1
                let relay = ConsoleRelayStream(id: String(serial), handoff: handoff)
                relays[relay.id] = relay
                start(relay, on: set)
            }
            if stopping { break }
            do {
                try set.poll(timeout: relays.values.contains { !$0.outbox.isEmpty } ? 0.01 : ConsoleStreams.sweepSeconds)
            } catch {
                streams.logger.error("console relay poll failed", metadata: ["error": "\(error)"])
            }
            // A wake-up turns only the relays with news or output; all of them (a departed viewer, heartbeats,
            // the time limit) every `sweepSeconds`, so one upstream event for a thousand relays is not a
            // thousand wake-ups that each look at a thousand viewers.
            let now = Date()
            let sweep = now >= nextSweep
            if sweep { nextSweep = now.addingTimeInterval(ConsoleStreams.sweepSeconds) }
            for relay in Array(relays.values) where sweep || relay.touched || !relay.outbox.isEmpty {
                relay.touched = false
                if turn(relay, now: now) { continue }
                set.remove(relay.id)
                relays[relay.id] = nil
                end(relay.handoff)
            }
        }
        for relay in relays.values {
            set.remove(relay.id)
            end(relay.handoff)
        }
    }

    private func start(_ relay: ConsoleRelayStream, on set: HTTPStreamSet) {
        do {
            try set.add(
                relay.handoff.request, id: relay.id,
                onHead: { head in
                    relay.status = head.status
                    return true
                },
                onBytes: { chunk in
                    guard relay.status == 200 else {
                        if relay.errorBody.count < 65_536 { relay.errorBody.append(contentsOf: chunk) }
                        return true
                    }
                    relay.tail = Array((relay.tail + chunk).suffix(4))
                    relay.outbox += chunk
                    relay.touched = true
                    // A viewer that reads slower than Parallel writes is let go (its EventSource reconnects).
                    return relay.outbox.count <= ConsoleStreams.backlogLimit
                },
                onEnd: { result in finish(relay, result) })
        } catch let error as HTTPClientError {
            finish(relay, .failure(error))
        } catch {
            finish(relay, .failure(HTTPClientError(kind: .other, code: 0, call: "HTTPStreamSet.add", requestNotSent: true)))
        }
    }

    /// Queues the end of the upstream stream for the viewer: an `error` event when it failed.
    private func finish(_ relay: ConsoleRelayStream, _ result: Result<HTTPResponseHead, HTTPClientError>) {
        relay.upstreamDone = true
        relay.touched = true
        if relay.outbox.count > ConsoleStreams.backlogLimit {
            relay.gone = true
            return
        }
        switch result {
        case .success:
            streams.logger.info("console relay", metadata: ["endpoint": "events", "status": "\(relay.status)"])
            if relay.status != 200 {
                relay.outbox += ConsoleRelay.errorEvent(
                    ConsoleRelay.upstreamMessage(relay.errorBody) ?? "Parallel answered with status \(relay.status).",
                    tail: relay.tail)
            }
        case .failure(let error):
            streams.logger.warning("console event relay interrupted", metadata: ["error": "\(error)"])
            relay.outbox += ConsoleRelay.errorEvent("The connection to Parallel was interrupted.", tail: relay.tail)
        }
    }

    /// One turn for a relay: write, heartbeat, limits. False when the relay ends now.
    private func turn(_ relay: ConsoleRelayStream, now: Date) -> Bool {
        if relay.gone || relay.body.isPeerClosed { return false }
        if !relay.pump(now: now) { return false }
        if relay.upstreamDone { return !relay.outbox.isEmpty }
        if now.timeIntervalSince(relay.opened) >= streams.maxSeconds { return false }
        // A comment only between events: inside one it would corrupt the event.
        if relay.outbox.isEmpty, ConsoleRelay.endsEvent(relay.tail),
           now.timeIntervalSince(relay.lastWrite) >= streams.heartbeatSeconds {
            relay.outbox += Array(": keep-alive\n\n".utf8)
            return relay.pump(now: now)
        }
        return true
    }

    /// Gives the viewer's stream slot back and closes its response off this thread.
    private func end(_ handoff: ConsoleStreams.Handoff) {
        streams.hub.releaseSlot(client: handoff.client)
        streams.hub.closer.close([handoff.body])
    }
}
