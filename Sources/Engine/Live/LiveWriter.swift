import Foundation
public import Web

/// A viewer's stream as its request thread hands it over: the open response (after `retry:` and `connected`),
/// its relay (registered before anything was read, so no event can slip between replay and live), where its
/// replay starts, the terminal event to send when the report had already ended without one in its log, and the
/// framing of its kind of stream.
struct LiveHandoff: Sendable {
    let relay: Relay
    let body: any DetachedBody
    let after: Int
    let terminalIfEnded: [UInt8]?
    var style: StreamStyle = .commentHeartbeat(seconds: 15)
}

/// What differs between the kinds of stream the writer serves: how an idle stream says it is alive, whether the
/// server ends it after a while, and what a viewer reads when its catch-up read failed. Every byte depends only
/// on the last event id sent, so the framing stays exactly what each protocol's clients expect.
public struct StreamStyle: Sendable {
    /// Seconds of silence before `heartbeat` is queued.
    public var heartbeatSeconds: Double
    /// The bytes of a heartbeat after event `sent`.
    public var heartbeat: @Sendable (_ sent: Int) -> [UInt8]
    /// Seconds after which an idle stream is ended with `farewell` (nil: never; the viewer resumes anyway).
    public var maxSeconds: Double?
    public var farewell: @Sendable (_ sent: Int) -> [UInt8]
    /// Bytes sent before ending a stream whose log could not be read (nil: just end; the client reconnects).
    public var failure: (@Sendable (_ sent: Int) -> [UInt8])?

    public init(heartbeatSeconds: Double, heartbeat: @escaping @Sendable (_ sent: Int) -> [UInt8],
                maxSeconds: Double? = nil, farewell: @escaping @Sendable (_ sent: Int) -> [UInt8] = { _ in [] },
                failure: (@Sendable (_ sent: Int) -> [UInt8])? = nil) {
        self.heartbeatSeconds = heartbeatSeconds
        self.heartbeat = heartbeat
        self.maxSeconds = maxSeconds
        self.farewell = farewell
        self.failure = failure
    }

    /// A `: heartbeat` comment every `seconds`, no time limit, a silent end on failure (the report streams of
    /// product.md §8).
    public static func commentHeartbeat(seconds: Double) -> StreamStyle {
        let beat = Array(OutgoingEvent.heartbeat.utf8)
        return StreamStyle(heartbeatSeconds: seconds, heartbeat: { _ in beat })
    }
}

/// The hand-over point into the process's live writer thread (architecture.md, "Live streams"): request
/// threads hand it open streams, the hub's listener marks relays that have new events, replay threads post
/// the results of catch-up reads. The writer thread takes all of it at once, so a burst of one event for a
/// thousand viewers costs one wake-up, not a thousand.
///
/// A deliberate shared object behind an `NSCondition` (the writer sleeps on it).
public final class LiveWriter: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var inbox = Inbox()
    private var stopped = false

    struct Inbox {
        var adopted: [LiveHandoff] = []
        var ready: [Relay] = []
        var caughtUp: [(relay: ObjectIdentifier, from: Int, result: Result<[LiveEvent], any Error>)] = []
        var isEmpty: Bool { adopted.isEmpty && ready.isEmpty && caughtUp.isEmpty }
    }

    /// Takes over an open stream; false when the writer has stopped (the caller closes it).
    func adopt(_ handoff: LiveHandoff) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else { return false }
        inbox.adopted.append(handoff)
        condition.signal()
        return true
    }

    /// Relays whose mailbox changed (new events, resync, close).
    func schedule(_ relays: [Relay]) {
        guard !relays.isEmpty else { return }
        condition.lock()
        inbox.ready.append(contentsOf: relays)
        condition.signal()
        condition.unlock()
    }

    /// The result of a catch-up read that started after seq `from`.
    func caughtUp(_ relay: ObjectIdentifier, from: Int, _ result: Result<[LiveEvent], any Error>) {
        condition.lock()
        inbox.caughtUp.append((relay, from, result))
        condition.signal()
        condition.unlock()
    }

    /// Waits until something arrives or `deadline` passes, then takes everything. Nil once stopping: from then
    /// on hand-offs are refused, and the returned leftovers are in `drain()`.
    func take(until deadline: Date, stop: any StopSignal) -> Inbox? {
        condition.lock()
        defer { condition.unlock() }
        while inbox.isEmpty && !stop.isRequested {
            // Wake at least every quarter second to notice a stop.
            let wakeAt = min(deadline, Date().addingTimeInterval(0.25))
            if !condition.wait(until: wakeAt) && Date() >= deadline { break }
        }
        if stop.isRequested { stopped = true }
        defer { inbox = Inbox() }
        return stopped ? nil : inbox
    }

    /// After the writer stopped: what was handed over but never taken.
    func drain() -> Inbox {
        condition.lock()
        defer { condition.unlock() }
        stopped = true
        defer { inbox = Inbox() }
        return inbox
    }
}

/// The writer thread: owns every open stream of the process and writes to them as events, replays and
/// heartbeats become due, never waiting on a slow client (it writes only to connections with room) nor on
/// the database (catch-up reads run on the replay threads).
struct LiveWriterThread: BackgroundService {
    let hub: RelayHub
    var name: String { "live-writer" }

    func run(until stop: any StopSignal) {
        var state = LiveWriterState(hub: hub)
        while let inbox = hub.writer.take(until: state.nextWake(), stop: stop) {
            state.handle(inbox)
            state.pump()
            state.sweepHeartbeats()
            state.closeFinished()
        }
        state.closeAll(leftovers: hub.writer.drain())
        hub.closer.writerDidStop()
    }
}

/// Everything the writer thread knows about its streams; lives and dies on that thread.
struct LiveWriterState {
    let hub: RelayHub
    private var viewers: [ObjectIdentifier: LiveViewer] = [:]
    /// Viewers with bytes waiting to be written.
    private var pending: Set<ObjectIdentifier> = []
    /// Set when the last pump wrote something: more may be writable at once.
    private var progressed = false
    private var finished: [any DetachedBody] = []
    private var nextSweep = Date()
    /// A quarter of the shortest heartbeat period of any stream adopted so far, at most 1 s.
    private var sweepPeriod: Double

    init(hub: RelayHub) {
        self.hub = hub
        sweepPeriod = min(1, hub.settings.heartbeatSeconds / 4)
    }

    /// When to wake without news: soon while output waits for room, else at the next heartbeat sweep.
    func nextWake() -> Date {
        if pending.isEmpty { return nextSweep }
        return Date().addingTimeInterval(progressed ? 0 : 0.005)
    }

    mutating func handle(_ inbox: LiveWriter.Inbox) {
        for handoff in inbox.adopted {
            let viewer = LiveViewer(handoff)
            viewers[ObjectIdentifier(viewer.relay)] = viewer
            sweepPeriod = min(sweepPeriod, max(0.01, viewer.style.heartbeatSeconds / 4))
            catchUp(viewer)
        }
        for (id, from, result) in inbox.caughtUp {
            guard let viewer = viewers[id], viewer.catchingUp, viewer.sent == from else { continue }
            viewer.catchingUp = false
            switch result {
            case .success(let page):
                viewer.appendFromLog(page, full: page.count >= LiveStream.replayPage)
                advance(viewer)
            case .failure(let error):
                // The viewer's EventSource reconnects and resumes from its last id.
                hub.log.warning("live catch-up failed; ending the stream", metadata: ["error": "\(error)"])
                if let failure = viewer.style.failure {
                    viewer.end(with: failure(viewer.sent))
                    pending.insert(id)
                } else {
                    finish(viewer)
                }
            }
        }
        for relay in inbox.ready {
            guard let viewer = viewers[ObjectIdentifier(relay)] else { continue }
            advance(viewer)
        }
    }

    /// Moves a viewer forward: ends it when its relay says so, otherwise takes new events when its outbox is
    /// empty (so a slow viewer's backlog stays in its bounded relay queue).
    private mutating func advance(_ viewer: LiveViewer) {
        guard !viewer.isFinished else { return }
        let room = viewer.isIdle
        if room && viewer.moreToCatchUp {
            catchUp(viewer)
            return
        }
        switch viewer.relay.take(taking: room) {
        case .closed, .overflow:
            finish(viewer)
            return
        case .resync:
            catchUp(viewer)
        case .events(let events):
            if !viewer.appendLive(events) { catchUp(viewer) }
        case .idle:
            break
        }
        if viewer.hasOutput { pending.insert(ObjectIdentifier(viewer.relay)) }
        if viewer.ending && !viewer.hasOutput { finish(viewer) }
    }

    /// Reads the log after the viewer's last sent event on a replay thread; the result comes back in the inbox.
    private mutating func catchUp(_ viewer: LiveViewer) {
        viewer.catchingUp = true
        viewer.moreToCatchUp = false
        let key = viewer.relay.key
        let from = viewer.sent
        let id = ObjectIdentifier(viewer.relay)
        let writer = hub.writer
        let logs = hub.logs
        hub.replay.submit({ connection in
            try logs.events(of: key, after: from, limit: LiveStream.replayPage, on: connection)
        }, completion: { result in writer.caughtUp(id, from: from, result) })
    }

    /// Writes one chunk to every waiting viewer whose connection has room.
    mutating func pump() {
        progressed = false
        guard !pending.isEmpty else { return }
        let now = Date()
        for id in pending {
            guard let viewer = viewers[id] else {
                pending.remove(id)
                continue
            }
            guard viewer.body.isWritable else { continue }
            do {
                try viewer.writeChunk(now: now)
                progressed = true
            } catch {
                finish(viewer)
                continue
            }
            if !viewer.hasOutput {
                pending.remove(id)
                advance(viewer)
            }
        }
    }

    /// Queues a heartbeat for every idle viewer that has not been written to for its heartbeat period, and the
    /// farewell for every idle viewer past its stream's time limit.
    mutating func sweepHeartbeats() {
        let now = Date()
        guard now >= nextSweep else { return }
        nextSweep = now.addingTimeInterval(sweepPeriod)
        for (id, viewer) in viewers where viewer.isIdle {
            if let limit = viewer.style.maxSeconds, now.timeIntervalSince(viewer.opened) >= limit {
                viewer.end(with: viewer.style.farewell(viewer.sent))
                pending.insert(id)
            } else if now.timeIntervalSince(viewer.lastWrite) >= viewer.style.heartbeatSeconds {
                viewer.queue(viewer.style.heartbeat(viewer.sent))
                pending.insert(id)
            }
        }
    }


    /// Ends a viewer's stream: forgotten by the hub at once, its connection closed after this round of writes
    /// (closing waits for the web server to acknowledge, which must not delay anyone's events).
    private mutating func finish(_ viewer: LiveViewer) {
        guard !viewer.isFinished else { return }
        viewer.isFinished = true
        let id = ObjectIdentifier(viewer.relay)
        viewers[id] = nil
        pending.remove(id)
        hub.unregister(viewer.relay)
        finished.append(viewer.body)
    }

    /// Hands ended streams to the closer thread.
    mutating func closeFinished() {
        guard !finished.isEmpty else { return }
        hub.closer.close(finished)
        finished = []
    }

    /// Shutdown: every open stream ends (viewers reconnect to another worker and resume).
    mutating func closeAll(leftovers: LiveWriter.Inbox) {
        for viewer in Array(viewers.values) { finish(viewer) }
        for handoff in leftovers.adopted {
            hub.unregister(handoff.relay)
            finished.append(handoff.body)
        }
        closeFinished()
    }
}

/// One open stream on the writer thread: what was sent, what waits to be written, and where it stands.
final class LiveViewer {
    let relay: Relay
    let body: any DetachedBody
    /// The seq of the last event queued for the viewer (it resumes after this).
    private(set) var sent: Int
    private var outbox: [UInt8] = []
    private var outboxStart = 0
    /// A catch-up read is out on a replay thread.
    var catchingUp = false
    /// The last catch-up page was full: read the next once the outbox is written.
    var moreToCatchUp = false
    /// The first catch-up (the replay on connect) is still running.
    private var replaying = true
    private let terminalIfEnded: [UInt8]?
    /// The framing of this kind of stream (heartbeat, time limit, failure).
    let style: StreamStyle
    /// The terminal event is queued: end once it is written.
    private(set) var ending = false
    var isFinished = false
    private(set) var lastWrite = Date()
    let opened = Date()

    init(_ handoff: LiveHandoff) {
        relay = handoff.relay
        body = handoff.body
        sent = handoff.after
        terminalIfEnded = handoff.terminalIfEnded
        style = handoff.style
    }

    var hasOutput: Bool { outboxStart < outbox.count }
    /// Nothing to write, nothing being read, not ending: new events or a heartbeat may go out.
    var isIdle: Bool { !hasOutput && !catchingUp && !ending }

    func queue(_ bytes: [UInt8]) { outbox += bytes }

    /// Queues the last bytes of the stream: it ends once they are written.
    func end(with bytes: [UInt8]) {
        outbox += bytes
        ending = true
    }

    /// Live events from the relay, in order; false on a gap (the caller catches up from the log, which also
    /// covers the events after the gap).
    func appendLive(_ events: [LiveEvent]) -> Bool {
        for event in events where event.seq > sent && !ending {
            guard event.seq == sent + 1 else { return false }
            append(event)
        }
        return true
    }

    /// A page read from the log after `sent`. When it was the last page of the replay on connect and the report
    /// had ended with no terminal event in its log, the synthesized one follows.
    func appendFromLog(_ page: [LiveEvent], full: Bool) {
        for event in page where event.seq > sent && !ending { append(event) }
        if ending { return }
        if full {
            moreToCatchUp = true
            return
        }
        if replaying, let terminalIfEnded {
            outbox += terminalIfEnded
            ending = true
        }
        replaying = false
    }

    private func append(_ event: LiveEvent) {
        outbox += event.wire
        sent = event.seq
        if event.isTerminal { ending = true }
    }

    /// Writes (and flushes) up to the body's chunk size; throws `ClientGone`.
    func writeChunk(now: Date) throws {
        let end = min(outbox.count, outboxStart + body.writeChunkBytes)
        try body.write(Array(outbox[outboxStart..<end]))
        try body.flush()
        lastWrite = now
        outboxStart = end
        if outboxStart == outbox.count {
            outbox = []
            outboxStart = 0
        }
    }
}

/// Closes ended streams on a thread of its own: closing a FastCGI connection waits until the web server has
/// closed its end too (libfcgi's lingering close, up to 2 s), which must never hold up the writer.
public final class LiveCloser: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [any DetachedBody] = []
    private var writerStopped = false

    /// The writer's last hand-over is done: the closer may stop once its queue is empty.
    func writerDidStop() {
        condition.lock()
        writerStopped = true
        condition.signal()
        condition.unlock()
    }

    fileprivate var isWriterStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return writerStopped
    }

    public func close(_ bodies: [any DetachedBody]) {
        condition.lock()
        queue.append(contentsOf: bodies)
        condition.signal()
        condition.unlock()
    }

    /// Waits up to `timeout` for bodies to close; empty when none came.
    fileprivate func take(timeout: Double) -> [any DetachedBody] {
        condition.lock()
        defer { condition.unlock() }
        if queue.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(timeout)) }
        defer { queue = [] }
        return queue
    }
}

/// The closer's thread; on stop it still closes whatever the writer handed over last.
struct LiveCloserThread: BackgroundService {
    let hub: RelayHub
    var name: String { "live-closer" }

    func run(until stop: any StopSignal) {
        while true {
            let done = stop.isRequested && hub.closer.isWriterStopped
            let bodies = hub.closer.take(timeout: 0.25)
            for body in bodies { body.close() }
            if done && bodies.isEmpty { return }
        }
    }
}
