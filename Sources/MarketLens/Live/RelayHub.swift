import Foundation
public import Logging
import Postgres
import Synchronization

/// The per-process live fan-out (architecture.md, "Live streams"): one listener thread `LISTEN`s on
/// `report_events`, reads each new event once and pushes it to every relay registered for its report.
///
/// Shared by every request thread of the process and the listener thread, hence the `Mutex`: it is the one
/// place where viewers come and go while events arrive. Pushing happens outside the lock.
public final class RelayHub: Sendable {
    /// Tunables (heartbeat, stream cap, queue bounds).
    public let settings: LiveSettings
    /// The database reads of the streams.
    public let replay: ReplayService
    /// The writer thread's hand-over point: open streams, relays with news, catch-up results.
    public let writer = LiveWriter()
    /// Closes the streams the writer ended.
    public let closer = LiveCloser()
    private let databaseURL: String
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var relays: [Int64: [ObjectIdentifier: Relay]] = [:]
        /// The last seq the listener fetched per watched report (nil until the first fetch).
        var fetched: [Int64: Int] = [:]
        var open = 0
        var stopped = false
        var shed = 0
        var overflows = 0
    }

    /// A hub for the process; nothing runs until its services are started.
    public init(databaseURL: String, settings: LiveSettings, logger: Logger) {
        self.databaseURL = databaseURL
        self.settings = settings
        self.logger = logger
        replay = ReplayService(databaseURL: databaseURL, logger: logger)
    }

    /// The listener thread and the replay threads, as background services of the worker process.
    public var services: [any BackgroundService] {
        [RelayListener(hub: self), LiveWriterThread(hub: self), LiveCloserThread(hub: self)] + replay.services(count: settings.replayThreads)
    }

    /// Registers a viewer of `reportID`; from now on every event the listener reads for that report is pushed
    /// to it. Nil when the process already serves `maxStreams` streams (shed load) or is stopping.
    public func register(reportID: Int64) -> Relay? {
        let relay = Relay(reportID: reportID, eventLimit: settings.queueEventLimit, byteLimit: settings.queueByteLimit)
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped, state.open < settings.maxStreams else {
                state.shed += 1
                return false
            }
            state.open += 1
            state.relays[reportID, default: [:]][ObjectIdentifier(relay)] = relay
            return true
        }
        return accepted ? relay : nil
    }

    /// Forgets a viewer (its stream ended); frees its queue.
    public func unregister(_ relay: Relay) {
        state.withLock { state in
            guard state.relays[relay.reportID]?.removeValue(forKey: ObjectIdentifier(relay)) != nil else { return }
            state.open -= 1
            if state.relays[relay.reportID]?.isEmpty == true {
                state.relays[relay.reportID] = nil
                state.fetched[relay.reportID] = nil
            }
        }
    }

    /// Streams open in this process right now.
    public var openStreams: Int { state.withLock { $0.open } }

    /// Counters for `/metrics`: open streams, streams refused for load, slow viewers disconnected.
    public var counters: (open: Int, shed: Int, overflows: Int) {
        state.withLock { ($0.open, $0.shed, $0.overflows) }
    }

    /// For each notified report that has viewers, the seq after which to fetch.
    func fetchPositions(notified: [Int64: Int]) -> [Int64: Int] {
        state.withLock { state in
            var positions: [Int64: Int] = [:]
            for (report, firstSeq) in notified where state.relays[report] != nil {
                positions[report] = state.fetched[report] ?? (firstSeq - 1)
            }
            return positions
        }
    }

    /// Hands fetched events (in seq order per report) to the relays of their reports.
    func deliver(_ events: [Int64: [LiveEvent]]) {
        var targets: [(Relay, [LiveEvent])] = []
        state.withLock { state in
            for (report, list) in events {
                guard let last = list.last, let relays = state.relays[report] else { continue }
                state.fetched[report] = max(state.fetched[report] ?? 0, last.seq)
                for relay in relays.values { targets.append((relay, list)) }
            }
        }
        var overflows = 0
        var ready: [Relay] = []
        for (relay, list) in targets {
            let pushed = relay.push(list)
            if pushed.overflowed { overflows += 1 }
            if pushed.schedule { ready.append(relay) }
        }
        if overflows > 0 { state.withLock { $0.overflows += overflows } }
        writer.schedule(ready)
    }

    /// After the listener (re)connected: notifications may have been missed, so every relay re-reads the log.
    func resyncAll() {
        let relays = state.withLock { state -> [Relay] in
            state.fetched = [:]
            return state.relays.values.flatMap(\.values)
        }
        writer.schedule(relays.filter { $0.requestResync() })
    }

    /// Shutdown: refuse new viewers and end every open stream.
    func closeAll() {
        let relays = state.withLock { state -> [Relay] in
            state.stopped = true
            return state.relays.values.flatMap(\.values)
        }
        writer.schedule(relays.filter { $0.close() })
    }

    func makeConnection() throws -> Connection { try Connection(url: databaseURL) }
    var log: Logger { logger }
}
