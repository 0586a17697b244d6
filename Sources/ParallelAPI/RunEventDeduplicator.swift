/// Whether an event is news to the follower or a repeat of something already delivered.
public enum EventOrigin: Sendable, Hashable {
    /// Seen for the first time.
    case new
    /// Already seen: upstream replays the whole trace and the latest stats on every connect (§3.4).
    case replayed
}

/// Tells new events from replays across reconnects of one run's stream. Pure and cheap: one set of keys.
public struct RunEventDeduplicator: Sendable {
    private struct MessageKey: Hashable {
        var kind: String
        var timestamp: String?
        var message: String
    }

    private var messages: Set<MessageKey> = []
    private var errors: Set<UpstreamError> = []
    private var unknownTypes: Set<String> = []
    private var lastState: (status: RunStatus, isActive: Bool)?
    /// The newest stats delivered as new.
    public private(set) var latestStats: ProgressStats?

    /// Creates an empty deduplicator.
    public init() {}

    /// Classifies `event` and remembers it. Messages dedupe on (kind, timestamp, message); stats are new only when
    /// they move forward (meter or counts grow, none shrinks); states are new when the status changes.
    public mutating func classify(_ event: RunEvent) -> EventOrigin {
        switch event {
        case .progressMessage(let message):
            let key = MessageKey(kind: message.kind, timestamp: message.timestamp, message: message.message)
            return messages.insert(key).inserted ? .new : .replayed
        case .progressStats(let stats):
            guard Self.advances(stats, from: latestStats) else { return .replayed }
            latestStats = stats
            return .new
        case .state(let state):
            if let lastState, lastState.status == state.run.status, lastState.isActive == state.run.isActive,
               state.run.isActive {
                return .replayed
            }
            lastState = (state.run.status, state.run.isActive)
            return .new
        case .error(let error):
            return errors.insert(error).inserted ? .new : .replayed
        case .groupStatus:
            return .new
        case .unknown(let type):
            return unknownTypes.insert(type).inserted ? .new : .replayed
        }
    }

    /// Whether `next` moves progress forward from `previous`: something grew and nothing shrank.
    static func advances(_ next: ProgressStats, from previous: ProgressStats?) -> Bool {
        guard let previous else { return true }
        let pairs: [(Double?, Double?)] = [
            (previous.progressMeter, next.progressMeter),
            (previous.numSourcesConsidered.map(Double.init), next.numSourcesConsidered.map(Double.init)),
            (previous.numSourcesRead.map(Double.init), next.numSourcesRead.map(Double.init)),
        ]
        var grew = false
        for (old, new) in pairs {
            switch (old, new) {
            case let (old?, new?):
                if new < old { return false }
                if new > old { grew = true }
            case (nil, _?):
                grew = true
            case (_?, nil), (nil, nil):
                continue
            }
        }
        return grew
    }
}
