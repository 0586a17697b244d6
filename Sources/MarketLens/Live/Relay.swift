import Foundation
import Web

/// One stored report event, already in its SSE wire form: encoded once by whoever read it (the hub's listener
/// or a replay) and shared by every relay that sends it.
public struct LiveEvent: Sendable, Equatable {
    /// The per-report sequence number (the SSE `id:`).
    public var seq: Int
    /// `completed` or `failed`: the stream ends after it.
    public var isTerminal: Bool
    /// `id:`, `event:` and `data:` lines and the blank line that dispatches the event.
    public var wire: [UInt8]

    /// Encodes a stored event.
    public init(_ event: StoredReportEvent) {
        seq = event.seq
        isTerminal = event.type == "completed" || event.type == "failed"
        wire = Array(OutgoingEvent(id: String(event.seq), event: event.type, data: event.payloadJSON).encoded.utf8)
    }
}

/// What a relay's thread finds when it wakes up.
enum RelayWake {
    /// New events from the hub, in order (possibly some already sent: the relay skips those).
    case events([LiveEvent])
    /// The hub lost its database connection and is back: re-read the log from the last sent event.
    case resync
    /// The viewer fell too far behind (queue limit): disconnect; its reconnect replays.
    case overflow
    /// The process is shutting down.
    case closed
    /// Nothing happened before the deadline (time for a heartbeat).
    case timeout
}

/// One viewer's mailbox: the hub's listener thread pushes, the viewer's request thread waits and takes.
///
/// Shared between exactly those two threads, so its state sits behind an `NSCondition` (a mutex the waiting
/// thread can sleep on); the queue is bounded so a viewer that stops reading cannot grow the process.
public final class Relay: @unchecked Sendable {
    /// The report (internal id) this viewer watches.
    public let reportID: Int64
    private let condition = NSCondition()
    private let eventLimit: Int
    private let byteLimit: Int
    // Guarded by `condition`.
    private var queue: [LiveEvent] = []
    private var queuedBytes = 0
    private var overflowed = false
    private var needsResync = false
    private var closed = false

    init(reportID: Int64, eventLimit: Int, byteLimit: Int) {
        self.reportID = reportID
        self.eventLimit = eventLimit
        self.byteLimit = byteLimit
    }

    /// Appends events; past the limits the relay is marked overflowed and its queue dropped. Returns true
    /// when this push overflowed it.
    @discardableResult
    func push(_ events: [LiveEvent]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !overflowed, !closed else { return false }
        for event in events {
            queue.append(event)
            queuedBytes += event.wire.count
        }
        if queue.count > eventLimit || queuedBytes > byteLimit {
            overflowed = true
            queue = []
            queuedBytes = 0
        }
        condition.signal()
        return overflowed
    }

    /// Asks the viewer to re-read the log (after the hub reconnected to the database).
    func requestResync() {
        condition.lock()
        needsResync = true
        condition.signal()
        condition.unlock()
    }

    /// Ends the viewer's stream (shutdown).
    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until something happens or `deadline` passes.
    func next(until deadline: Date) -> RelayWake {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if closed { return .closed }
            if overflowed { return .overflow }
            if needsResync {
                needsResync = false
                queue = []
                queuedBytes = 0
                return .resync
            }
            if !queue.isEmpty {
                let events = queue
                queue = []
                queuedBytes = 0
                return .events(events)
            }
            if !condition.wait(until: deadline) { return .timeout }
        }
    }

    /// Events waiting (for tests and metrics).
    var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }
}
