/// Tunables of `RunEventFollower`.
public struct RunFollowPolicy: Sendable {
    /// No bytes for this long means the stream stalled (upstream sends no heartbeats: keep ≥ 300 s in production).
    public var idleTimeout: Double
    /// First reconnect delay, seconds; doubled per consecutive failure.
    public var reconnectInitialDelay: Double
    /// Cap of the reconnect delay.
    public var reconnectMaxDelay: Double
    /// Consecutive failed connections (no new event, short-lived, or broken) tolerated before giving up.
    public var maxConsecutiveFailures: Int
    /// A connection that lasted this long counts as healthy even without new events (quiet runs, the 570 s cap).
    public var healthyConnectionDuration: Double
    /// `timeout` of the `/result` call made when a completed state arrives without output.
    public var resultTimeout: Int
    /// Also deliver replayed events (marked `.replayed`); by default only new ones reach the callback.
    public var deliverReplayed: Bool

    /// Creates a policy; the defaults suit production (cookbook: read timeout 300 s, backoff capped at 30 s).
    public init(idleTimeout: Double = 300, reconnectInitialDelay: Double = 1, reconnectMaxDelay: Double = 30,
                maxConsecutiveFailures: Int = 8, healthyConnectionDuration: Double = 30, resultTimeout: Int = 60,
                deliverReplayed: Bool = false) {
        self.idleTimeout = idleTimeout
        self.reconnectInitialDelay = reconnectInitialDelay
        self.reconnectMaxDelay = reconnectMaxDelay
        self.maxConsecutiveFailures = maxConsecutiveFailures
        self.healthyConnectionDuration = healthyConnectionDuration
        self.resultTimeout = resultTimeout
        self.deliverReplayed = deliverReplayed
    }
}

/// Why a follower is about to reconnect.
public enum ReconnectReason: Sendable, Equatable {
    /// The server closed the stream while the run was still active (the 570 s cap, a drop).
    case closedWithoutTerminal
    /// No bytes for `idleTimeout` seconds.
    case stalled
    /// The connection broke (reset, connect failure, timeout) or the server answered with a retryable error.
    case failed(String)
}

/// The decision logic of following one run, without any I/O: feed it what happened, it says what to do next.
public struct RunFollowState: Sendable {
    /// What to do after a connection ended without a terminal state.
    public enum Step: Sendable, Equatable {
        /// GET the run to learn whether it is still active.
        case checkRun
        /// Wait `delay` s and connect again.
        case reconnect(delay: Double, reason: ReconnectReason)
        /// The run is no longer active: finish (fetching the output when it completed).
        case finish
        /// Stop trying.
        case giveUp
    }

    /// How a connection ended without a terminal state.
    public enum ConnectionEnd: Sendable {
        /// Clean close by the server.
        case closed
        /// Error (stall, transport, non-200).
        case failed(ParallelError)
    }

    /// The tunables.
    public let policy: RunFollowPolicy
    /// Replay detection.
    public private(set) var deduplicator = RunEventDeduplicator()
    /// Connections opened so far.
    public private(set) var connections = 0
    /// Failed connections in a row.
    public private(set) var consecutiveFailures = 0
    /// The run as last seen (state event or GET).
    public private(set) var lastRun: TaskRun?
    /// Set once a state with `is_active == false` arrived.
    public private(set) var terminalRun: TaskRun?
    /// The output carried by the terminal state, if any.
    public private(set) var terminalOutput: RunOutput?
    private var newThisConnection = 0
    private var pendingReason: ReconnectReason = .closedWithoutTerminal

    /// Starts with no history.
    public init(policy: RunFollowPolicy) {
        self.policy = policy
    }

    /// Call before each connect.
    public mutating func connectionStarted() {
        connections += 1
        newThisConnection = 0
    }

    /// Classifies an event of the current connection. Returns its origin and whether the callback should get it.
    public mutating func receive(_ event: RunEvent) -> (origin: EventOrigin, deliver: Bool) {
        let origin = deduplicator.classify(event)
        if origin == .new { newThisConnection += 1 }
        if case .state(let state) = event {
            lastRun = state.run
            if !state.run.isActive {
                terminalRun = state.run
                terminalOutput = state.output
            }
        }
        return (origin, origin == .new || policy.deliverReplayed)
    }

    /// Whether the run has reached a non-active status.
    public var isFinished: Bool { terminalRun != nil }

    /// Call when a connection ended without a terminal state; `duration` is how long it lasted (seconds). A healthy
    /// connection (new events, or open at least `healthyConnectionDuration`) closed cleanly reconnects at once;
    /// anything else checks the run first.
    public mutating func connectionEnded(_ end: ConnectionEnd, duration: Double) -> Step {
        let healthy = newThisConnection > 0 || duration >= policy.healthyConnectionDuration
        if healthy { consecutiveFailures = 0 }
        switch end {
        case .closed:
            pendingReason = .closedWithoutTerminal
            // A healthy stream closed by the server (the 570 s cap) needs no GET first: the next connection's
            // first event is the run's current state. At 3,000 runs whose streams the cap closes in the same
            // seconds, the GETs doubled the requests of the reconnect and delayed every event emitted meanwhile.
            if healthy { return .reconnect(delay: 0, reason: .closedWithoutTerminal) }
            consecutiveFailures += 1
        case .failed(let error):
            consecutiveFailures += 1
            if case .transport(let transport) = error, transport.kind == .stalled {
                pendingReason = .stalled
            } else {
                pendingReason = .failed(error.description)
            }
            // 401/403/404/422 will not get better by reconnecting.
            if !error.isRetryable { return .giveUp }
        }
        return .checkRun
    }

    /// Call with the outcome of the GET that followed a connection end. Nil run means the GET failed.
    public mutating func runChecked(_ run: TaskRun?, error: ParallelError? = nil, random: Double) -> Step {
        if let run {
            lastRun = run
            if !run.isActive {
                terminalRun = run
                return .finish
            }
        } else if let error, !error.isRetryable {
            return .giveUp
        }
        if consecutiveFailures > policy.maxConsecutiveFailures { return .giveUp }
        return .reconnect(delay: reconnectDelay(random: random), reason: pendingReason)
    }

    /// Backoff for the next connect: `initial·2^(failures−1)` capped, times a jitter in [0.5, 1]; none after a
    /// healthy connection (the 570 s cap closes every stream while its run goes on: the events emitted until the
    /// next connect reach the report that much later, and waiting a second there was most of the store tail).
    public func reconnectDelay(random: Double) -> Double {
        guard consecutiveFailures > 0 else { return 0 }
        let exponent = Double(max(0, consecutiveFailures - 1))
        let base = min(policy.reconnectInitialDelay * pow2(exponent), policy.reconnectMaxDelay)
        return base * (0.5 + 0.5 * min(max(random, 0), 1))
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        var remaining = Int(min(exponent, 30))
        while remaining > 0 {
            value *= 2
            remaining -= 1
        }
        return value
    }
}
