import Foundation

/// Timing of batch screening, from the environment (defaults in parentheses):
/// `MARKETLENS_BATCH_HEARTBEAT_SECONDS` (30, the seed's interval), `MARKETLENS_BATCH_LEASE_SECONDS` (15: how
/// long a killed worker's batch waits before another monitor takes it over), `MARKETLENS_BATCH_MAX_ACTIVE`
/// (8 batches followed at once per worker process), `MARKETLENS_BATCH_SYNC_WAIT_SECONDS` (3300: how long
/// `POST /research/batch` waits before answering 202 with the batch's address).
public struct BatchSettings: Sendable {
    public var heartbeatInterval: Duration = .seconds(30)
    public var leaseSeconds: Int = 15
    public var maxActiveBatches: Int = 8
    public var syncWait: Duration = .seconds(3300)
    /// A stream is closed (with `disconnected`) after this long; the client resumes with `Last-Event-ID`.
    public var maxStreamDuration: Duration = .seconds(3300)

    /// The defaults.
    public init() {}

    /// Reads the variables above; unparseable or out-of-range values keep the default.
    public init(environment: [String: String]) {
        func number(_ name: String, _ range: ClosedRange<Double>) -> Double? {
            guard let text = environment[name], let value = Double(text), range.contains(value) else { return nil }
            return value
        }
        if let value = number("MARKETLENS_BATCH_HEARTBEAT_SECONDS", 0.05...3600) {
            heartbeatInterval = .milliseconds(Int(value * 1000))
        }
        if let value = number("MARKETLENS_BATCH_LEASE_SECONDS", 3...3600) { leaseSeconds = Int(value) }
        if let value = number("MARKETLENS_BATCH_MAX_ACTIVE", 1...256) { maxActiveBatches = Int(value) }
        if let value = number("MARKETLENS_BATCH_SYNC_WAIT_SECONDS", 1...86_400) { syncWait = .seconds(value) }
    }

    /// How long one group-events connection is held before the owner renews its lease and reconnects.
    var streamSlice: Double { max(1, Double(leaseSeconds) / 3) }
}
