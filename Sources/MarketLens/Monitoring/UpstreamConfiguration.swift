import ParallelAPI
import ResendAPI

/// How the monitoring code reaches Parallel and Resend, derived from `AppConfiguration`.
enum UpstreamConfiguration {
    /// The key upstream-sim accepts by default; used in offline mode (no `PARALLEL_API_KEY`).
    static let simulatorParallelKey = "sim-parallel-key"

    /// Parallel settings for following runs: the configured key, or the simulator's in offline mode.
    static func parallel(_ configuration: AppConfiguration) -> ParallelConfiguration {
        ParallelConfiguration(
            baseURL: configuration.parallelBaseURL,
            apiKey: configuration.parallelAPIKey ?? simulatorParallelKey,
            streamIdleTimeout: configuration.monitor.streamIdleSeconds,
            retryPolicy: RetryPolicy(initialDelay: min(0.5, configuration.monitor.reconnectBaseSeconds)))
    }

    /// Resend settings, or nil when e-mail is off (no key or no sender). Retries are the outbox's job.
    static func resend(_ configuration: AppConfiguration) -> ResendConfiguration? {
        guard configuration.isEmailEnabled, let key = configuration.resendAPIKey else { return nil }
        return ResendConfiguration(baseURL: configuration.resendBaseURL, apiKey: key, timeout: 30, maxRetries: 0)
    }

    /// The follower's tunables.
    static func followPolicy(_ settings: MonitorSettings) -> RunFollowPolicy {
        RunFollowPolicy(
            idleTimeout: settings.streamIdleSeconds, reconnectInitialDelay: settings.reconnectBaseSeconds,
            reconnectMaxDelay: min(30, settings.reconnectBaseSeconds * 32), maxConsecutiveFailures: settings.maxStreamFailures,
            healthyConnectionDuration: min(30, settings.streamIdleSeconds), resultTimeout: 30)
    }
}
