import Foundation
import Synchronization
import Web

/// One stored event of a log, already in its SSE wire form: encoded once by whoever read it (the hub's listener
/// or a replay) and shared by every relay that sends it.
public struct LiveEvent: Sendable, Equatable {
    /// The per-log sequence number (the SSE `id:`).
    public var seq: Int
    /// `completed` or `failed` (a batch: `completed` or `stream_error`): the stream ends after it.
    public var isTerminal: Bool
    /// `id:`, `event:` and `data:` lines and the blank line that dispatches the event.
    public var wire: [UInt8]

    /// Encodes an event of a log: `id:` is its seq, `event:` its type, `data:` its payload (JSON).
    public init(seq: Int, type: String, data: String, isTerminal: Bool) {
        self.seq = seq
        self.isTerminal = isTerminal
        wire = Array(OutgoingEvent(id: String(seq), event: type, data: data).encoded.utf8)
    }
}

/// What the writer finds in a relay's mailbox.
public enum RelayWake: Equatable, Sendable {
    /// New events from the hub, in order (possibly some already sent: the writer skips those).
    case events([LiveEvent])
    /// The hub lost its database connection and is back: re-read the log from the last sent event.
    case resync
    /// The viewer fell too far behind (queue limit): disconnect; its reconnect replays.
    case overflow
    /// The process is shutting down.
    case closed
    /// Nothing new.
    case idle
}

/// One viewer's mailbox: the hub's listener thread pushes events, the live writer thread takes them when the
/// viewer's connection can take more. Bounded, so a viewer that stops reading cannot grow the process: past
/// the limits its queue is dropped and the viewer is disconnected (its reconnect replays from the log).
public final class Relay: Sendable {
    /// The log this viewer watches.
    public let key: StreamKey
    /// The viewer's address, for the per-client stream cap.
    public let client: String
    private let eventLimit: Int
    private let byteLimit: Int
    private let mailbox = Mutex(Mailbox())

    private struct Mailbox {
        var queue: [LiveEvent] = []
        var queuedBytes = 0
        var overflowed = false
        var needsResync = false
        var closed = false
        /// Already on the writer's ready list (so a burst of pushes wakes the writer once).
        var scheduled = false

        /// Marks the relay as on the writer's ready list; true when it was not yet.
        mutating func markScheduled() -> Bool {
            defer { scheduled = true }
            return !scheduled
        }
    }

    init(key: StreamKey, client: String = "", eventLimit: Int, byteLimit: Int) {
        self.key = key
        self.client = client
        self.eventLimit = eventLimit
        self.byteLimit = byteLimit
    }

    /// Appends events; past the limits the relay is marked overflowed and its queue dropped. Returns whether
    /// the writer must be told (it was not already), and whether this push overflowed the relay.
    func push(_ events: [LiveEvent]) -> (schedule: Bool, overflowed: Bool) {
        mailbox.withLock { box in
            guard !box.overflowed, !box.closed else { return (false, false) }
            for event in events {
                box.queue.append(event)
                box.queuedBytes += event.wire.count
            }
            let overflowed = box.queue.count > eventLimit || box.queuedBytes > byteLimit
            if overflowed {
                box.overflowed = true
                box.queue = []
                box.queuedBytes = 0
            }
            return (box.markScheduled(), overflowed)
        }
    }

    /// Asks the writer to re-read the log for this viewer (after the hub reconnected to the database).
    /// Returns whether the writer must be told.
    func requestResync() -> Bool {
        mailbox.withLock { box in
            box.needsResync = true
            return box.markScheduled()
        }
    }

    /// Ends the viewer's stream (shutdown). Returns whether the writer must be told.
    func close() -> Bool {
        mailbox.withLock { box in
            box.closed = true
            return box.markScheduled()
        }
    }

    /// The writer's look: an end (closed, overflowed) always; new events or a resync only when `taking`,
    /// i.e. when the viewer's connection has room for them (otherwise they stay queued, within the bounds).
    public func take(taking: Bool) -> RelayWake {
        mailbox.withLock { box in
            box.scheduled = false
            if box.closed { return .closed }
            if box.overflowed { return .overflow }
            guard taking else { return .idle }
            if box.needsResync {
                box.needsResync = false
                box.queue = []
                box.queuedBytes = 0
                return .resync
            }
            guard !box.queue.isEmpty else { return .idle }
            let events = box.queue
            box.queue = []
            box.queuedBytes = 0
            return .events(events)
        }
    }

    /// Events waiting (for tests and metrics).
    var queuedCount: Int { mailbox.withLock { $0.queue.count } }
}
