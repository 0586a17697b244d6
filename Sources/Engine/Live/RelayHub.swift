import Foundation
public import Logging
import Postgres
import Synchronization

/// The per-process live fan-out (architecture.md, "Live streams"): one listener thread `LISTEN`s on every log's
/// channel (`EventLogReader.channels`) over one connection, reads each new event once and pushes it to every
/// relay registered for its log (keyed by channel and id). It also counts every open stream of the process,
/// those that follow no log included (`reserveSlot`), against the process's and each client address's cap.
///
/// Shared by every request thread of the process and the listener thread, hence the `Mutex`: it is the one
/// place where viewers come and go while events arrive. Pushing happens outside the lock.
public final class RelayHub: Sendable {
    /// Tunables (heartbeat, stream cap, queue bounds).
    public let settings: LiveSettings
    /// The database reads of the streams.
    public let replay: ReplayService
    /// The event logs the streams follow (the app's tables).
    public let logs: any EventLogReader
    /// The writer thread's hand-over point: open streams, relays with news, catch-up results.
    public let writer = LiveWriter()
    /// Closes the streams the writer ended.
    public let closer = LiveCloser()
    private let databaseURL: String
    private let logger: Logger
    private let state = Mutex(State())

    fileprivate struct State {
        var relays: [StreamKey: [ObjectIdentifier: Relay]] = [:]
        /// The last seq the listener fetched per watched log (nil until the first fetch).
        var fetched: [StreamKey: Int] = [:]
        /// Open streams per client address (relays and console relays).
        var perClient: [String: Int] = [:]
        var open = 0
        var stopped = false
        var shed = 0
        var overflows = 0
    }

    /// A hub for the process; nothing runs until its services are started.
    public init(databaseURL: String, settings: LiveSettings, logs: any EventLogReader, logger: Logger) {
        self.databaseURL = databaseURL
        self.settings = settings
        self.logs = logs
        self.logger = logger
        replay = ReplayService(databaseURL: databaseURL, logger: logger)
    }

    /// The listener thread and the replay threads, as background services of the worker process.
    public var services: [any BackgroundService] {
        [RelayListener(hub: self), LiveWriterThread(hub: self), LiveCloserThread(hub: self)] + replay.services(count: settings.replayThreads)
    }

    /// Why a stream was not opened.
    public enum Refusal: Error, Sendable {
        /// The process serves `maxStreams` streams, or is stopping.
        case processFull
        /// This client address already holds `maxStreamsPerClient` streams.
        case clientFull
    }

    /// Registers a viewer of `key` for `client`; from now on every event the listener reads for that log is
    /// pushed to it. Refused when the process already serves `maxStreams` streams or is stopping, or when the
    /// client holds `maxStreamsPerClient`.
    public func register(_ key: StreamKey, client: String) -> Result<Relay, Refusal> {
        let relay = Relay(key: key, client: client, eventLimit: settings.queueEventLimit, byteLimit: settings.queueByteLimit)
        return state.withLock { state -> Result<Relay, Refusal> in
            if let refusal = state.admit(client, settings: settings) { return .failure(refusal) }
            state.relays[key, default: [:]][ObjectIdentifier(relay)] = relay
            return .success(relay)
        }
    }

    /// Counts a stream that does not follow a log (the app's console relays) against the process's and the client's
    /// caps; `releaseSlot` gives it back.
    public func reserveSlot(client: String) -> Refusal? {
        state.withLock { $0.admit(client, settings: settings) }
    }

    /// Gives back a slot of `reserveSlot`.
    public func releaseSlot(client: String) {
        state.withLock { $0.release(client) }
    }

    /// Whether `client` may open one more stream now (checked before work that a refused stream would waste,
    /// such as creating a batch; the registration itself decides).
    public func refusal(for client: String) -> Refusal? {
        state.withLock { state in
            var refusal: Refusal?
            if state.stopped || state.open >= settings.maxStreams {
                refusal = .processFull
            } else if !client.isEmpty, state.perClient[client, default: 0] >= settings.maxStreamsPerClient {
                refusal = .clientFull
            }
            if refusal != nil { state.shed += 1 }
            return refusal
        }
    }

    /// Forgets a viewer (its stream ended); frees its queue.
    public func unregister(_ relay: Relay) {
        state.withLock { state in
            guard state.relays[relay.key]?.removeValue(forKey: ObjectIdentifier(relay)) != nil else { return }
            state.release(relay.client)
            if state.relays[relay.key]?.isEmpty == true {
                state.relays[relay.key] = nil
                state.fetched[relay.key] = nil
            }
        }
    }

    /// Streams open in this process right now.
    public var openStreams: Int { state.withLock { $0.open } }

    /// Counters for `/metrics`: open streams, streams refused for load, slow viewers disconnected.
    public var counters: (open: Int, shed: Int, overflows: Int) {
        state.withLock { ($0.open, $0.shed, $0.overflows) }
    }

    /// For each notified log that has viewers, the seq after which to fetch.
    func fetchPositions(notified: [StreamKey: Int]) -> [StreamKey: Int] {
        state.withLock { state in
            var positions: [StreamKey: Int] = [:]
            for (key, firstSeq) in notified where state.relays[key] != nil {
                positions[key] = state.fetched[key] ?? (firstSeq - 1)
            }
            return positions
        }
    }

    /// Hands fetched events (in seq order per log) to the relays of their logs.
    func deliver(_ events: [StreamKey: [LiveEvent]]) {
        var targets: [(Relay, [LiveEvent])] = []
        state.withLock { state in
            for (key, list) in events {
                guard let last = list.last, let relays = state.relays[key] else { continue }
                state.fetched[key] = max(state.fetched[key] ?? 0, last.seq)
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
    public var log: Logger { logger }
}

extension RelayHub.State {
    /// Counts one more stream of `client`, or says why not.
    mutating func admit(_ client: String, settings: LiveSettings) -> RelayHub.Refusal? {
        guard !stopped, open < settings.maxStreams else {
            shed += 1
            return .processFull
        }
        if !client.isEmpty {
            guard perClient[client, default: 0] < settings.maxStreamsPerClient else {
                shed += 1
                return .clientFull
            }
            perClient[client, default: 0] += 1
        }
        open += 1
        return nil
    }

    mutating func release(_ client: String) {
        open -= 1
        guard !client.isEmpty, let count = perClient[client] else { return }
        perClient[client] = count > 1 ? count - 1 : nil
    }
}
