public import Foundation
public import HTTPClient

/// When and how long to wait before repeating a Parallel call (§1.4, modelled on the SDK's `_base_client.py`).
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt (the SDK's default is 2).
    public var maxRetries: Int
    /// First backoff delay in seconds; doubled per retry.
    public var initialDelay: Double
    /// Cap of the computed backoff, in seconds.
    public var maxDelay: Double
    /// Largest server-requested delay (`retry-after`) that is honoured; longer or non-positive ones fall back to backoff.
    public var maxServerDelay: Double

    /// Creates a policy; the defaults are the SDK's.
    public init(maxRetries: Int = 2, initialDelay: Double = 0.5, maxDelay: Double = 8, maxServerDelay: Double = 60) {
        self.maxRetries = maxRetries
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxServerDelay = maxServerDelay
    }

    /// How repeating a call can hurt, which decides what may be retried.
    public enum CallKind: Sendable {
        /// GETs and calls without side effects: transport failures, 408, 409, 429 and 5xx retry.
        case idempotent
        /// `POST /v1/tasks/runs` (no idempotency key upstream): only 429, 502, 503 and failures before sending.
        case create
        /// `/result`: like idempotent, except that 408 is the "still active" answer and goes back to the caller.
        case result
    }

    /// Statuses §1.4 calls retryable in general (what `ParallelError.api(…, retryable:)` reports).
    public static func isRetryableStatus(_ status: Int) -> Bool {
        status == 408 || status == 409 || status == 429 || status >= 500
    }

    /// Whether an HTTP answer with this status (and `x-should-retry` header) should be repeated for this kind of call.
    public func shouldRetry(status: Int, shouldRetryHeader: String?, kind: CallKind) -> Bool {
        let override = shouldRetryHeader?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        switch kind {
        case .create:
            // A `true` override is not trusted here: a repeated create can make a duplicate run.
            if override == "false" { return false }
            return status == 429 || status == 502 || status == 503
        case .idempotent, .result:
            if kind == .result && (status == 408 || status == 404) { return false }
            if override == "true" { return true }
            if override == "false" { return false }
            return Self.isRetryableStatus(status)
        }
    }

    /// Whether a libcurl failure should be repeated for this kind of call.
    public func shouldRetry(transport error: HTTPClientError, kind: CallKind) -> Bool {
        if error.kind == .aborted { return false }
        switch kind {
        case .create: return error.requestNotSent
        case .idempotent, .result: return true
        }
    }

    /// The wait before retry number `retry` (0 for the first retry): the server's `retry-after-ms` / `retry-after`
    /// when it lies in (0, maxServerDelay] s, else `min(initialDelay·2^retry, maxDelay) × jitter`, jitter ∈ [0.75, 1].
    public func delay(retry: Int, retryAfterMS: String?, retryAfter: String?, now: Date = Date(),
                      random: Double = Double.random(in: 0...1)) -> Double {
        if let server = Self.serverDelay(retryAfterMS: retryAfterMS, retryAfter: retryAfter, now: now),
           server > 0, server <= maxServerDelay {
            return server
        }
        let base = min(initialDelay * pow(2, Double(max(0, retry))), maxDelay)
        let jitter = 1 - 0.25 * min(max(random, 0), 1)
        return base * jitter
    }

    /// The delay the server asked for, in seconds, or nil when no header gives one.
    static func serverDelay(retryAfterMS: String?, retryAfter: String?, now: Date) -> Double? {
        if let text = retryAfterMS?.trimmingCharacters(in: .whitespacesAndNewlines), let ms = Double(text) {
            return ms / 1000
        }
        guard let text = retryAfter?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        if let seconds = Double(text) { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return date.timeIntervalSince(now)
    }
}

extension RetryPolicy {
    /// The delay for retry `retry` after this response, reading its headers.
    func delay(retry: Int, after head: HTTPResponseHead?) -> Double {
        delay(retry: retry, retryAfterMS: head?.header("retry-after-ms"), retryAfter: head?.header("retry-after"))
    }
}
