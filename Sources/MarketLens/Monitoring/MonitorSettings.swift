import Foundation

/// Tunables of the monitoring thread, the e-mail outbox and the webhook, read from the environment with
/// production defaults. Tests shrink them (`MARKETLENS_LEASE_SECONDS=2`, `MARKETLENS_POLL_SECONDS=0.2`, …).
public struct MonitorSettings: Sendable {
    /// `MARKETLENS_LEASE_SECONDS` (30): how long a claimed run stays ours without renewal.
    public var leaseSeconds: Double
    /// `MARKETLENS_POLL_SECONDS` (15): the polling interval when the event stream is unavailable.
    public var pollSeconds: Double
    /// `MARKETLENS_MONITOR_INTERVAL` (1): how often the loop claims runs, renews leases and sends due mail.
    public var loopInterval: Double
    /// `MARKETLENS_MAX_RUNS` (2000): the most runs one process follows at once (each is a transfer on the
    /// monitoring thread's multi handle and a descriptor, not a thread).
    public var maxRunsPerProcess: Int
    /// `MARKETLENS_MONITOR_DB_CONNECTIONS` (2): the database connections (lanes) through which a process's monitors
    /// store events, finish runs and renew leases, whatever the number of runs.
    public var databaseConnections: Int
    /// `MARKETLENS_BACKOFF_SECONDS` (1): first reconnect delay of a run stream (doubled, capped at 30 s, jittered).
    public var reconnectBaseSeconds: Double
    /// `MARKETLENS_STREAM_IDLE_SECONDS` (300): a stream without bytes this long is stalled (upstream sends no heartbeats).
    public var streamIdleSeconds: Double
    /// `MARKETLENS_STREAM_FAILURES` (8): failed stream connections in a row before falling back to polling.
    public var maxStreamFailures: Int
    /// `MARKETLENS_CREATE_GRACE_SECONDS` (60): how long a `create_uncertain` report waits before the one retry.
    public var createGraceSeconds: Double
    /// `MARKETLENS_EMAIL_BACKOFF_SECONDS` (30): first retry delay of a failed e-mail (doubled, capped at 1 h, jittered).
    public var emailBackoffSeconds: Double
    /// `MARKETLENS_EMAIL_MAX_ATTEMPTS` (12): attempts before an e-mail is given up (`status = 'failed'`).
    public var emailMaxAttempts: Int
    /// `MARKETLENS_EMAIL_RETENTION_DAYS` (30): days after its e-mail was sent that an address is erased from
    /// `reports` and the outbox (by the monitor's maintenance pass and `marketlens prune`).
    public var emailRetentionDays: Int
    /// `MARKETLENS_WEBHOOK_TOLERANCE_SECONDS` (300): accepted clock skew of `webhook-timestamp`.
    public var webhookToleranceSeconds: Double
    /// `PARALLEL_WEBHOOK_SECRET_MODE` (`raw`): use the secret's bytes as the HMAC key, or (`whsec`) base64-decode
    /// the part after `whsec_` as the Standard Webhooks libraries do.
    public var webhookSecretIsWhsec: Bool

    /// The production defaults.
    public init() {
        leaseSeconds = 30
        pollSeconds = 15
        loopInterval = 1
        maxRunsPerProcess = 2000
        databaseConnections = 2
        reconnectBaseSeconds = 1
        streamIdleSeconds = 300
        maxStreamFailures = 8
        createGraceSeconds = 60
        emailBackoffSeconds = 30
        emailMaxAttempts = 12
        emailRetentionDays = 30
        webhookToleranceSeconds = 300
        webhookSecretIsWhsec = false
    }

    /// Reads the variables above, naming the first invalid one.
    init(reader: EnvironmentReader) throws(ConfigurationError) {
        self.init()
        leaseSeconds = try Self.seconds(reader, "MARKETLENS_LEASE_SECONDS", leaseSeconds, 0.5...3600)
        pollSeconds = try Self.seconds(reader, "MARKETLENS_POLL_SECONDS", pollSeconds, 0.05...3600)
        loopInterval = try Self.seconds(reader, "MARKETLENS_MONITOR_INTERVAL", loopInterval, 0.02...60)
        maxRunsPerProcess = try reader.integer("MARKETLENS_MAX_RUNS", default: maxRunsPerProcess, range: 1...10_000)
        databaseConnections = try reader.integer(
            "MARKETLENS_MONITOR_DB_CONNECTIONS", default: databaseConnections, range: 1...16)
        reconnectBaseSeconds = try Self.seconds(reader, "MARKETLENS_BACKOFF_SECONDS", reconnectBaseSeconds, 0.01...60)
        streamIdleSeconds = try Self.seconds(reader, "MARKETLENS_STREAM_IDLE_SECONDS", streamIdleSeconds, 0.1...3600)
        maxStreamFailures = try reader.integer("MARKETLENS_STREAM_FAILURES", default: maxStreamFailures, range: 0...1000)
        createGraceSeconds = try Self.seconds(reader, "MARKETLENS_CREATE_GRACE_SECONDS", createGraceSeconds, 0...86_400)
        emailBackoffSeconds = try Self.seconds(reader, "MARKETLENS_EMAIL_BACKOFF_SECONDS", emailBackoffSeconds, 0.01...3600)
        emailMaxAttempts = try reader.integer("MARKETLENS_EMAIL_MAX_ATTEMPTS", default: emailMaxAttempts, range: 1...1000)
        emailRetentionDays = try reader.integer(
            "MARKETLENS_EMAIL_RETENTION_DAYS", default: emailRetentionDays, range: 0...3650)
        webhookToleranceSeconds = try Self.seconds(
            reader, "MARKETLENS_WEBHOOK_TOLERANCE_SECONDS", webhookToleranceSeconds, 1...86_400)
        webhookSecretIsWhsec = try reader.choice(
            "PARALLEL_WEBHOOK_SECRET_MODE", default: "raw", allowed: ["raw", "whsec"]) == "whsec"
    }

    private static func seconds(
        _ reader: EnvironmentReader, _ name: String, _ fallback: Double, _ range: ClosedRange<Double>
    ) throws(ConfigurationError) -> Double {
        guard let text = reader.nonEmpty(name) else { return fallback }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ConfigurationError(
                variable: name, problem: "must be a number of seconds from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}
