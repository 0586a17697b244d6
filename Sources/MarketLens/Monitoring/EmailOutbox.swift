import Foundation
public import Logging
public import Postgres
import ResendAPI

/// The e-mail outbox: messages are enqueued in the transaction that decides to send them, and sent later by
/// `EmailOutbox.Sender` with their idempotency key, so a crash between sending and recording causes a retry that
/// the provider deduplicates, never a lost or doubled message.
public enum EmailOutbox {
    /// Enqueues a message unless one with `key` exists (the unique key makes the enqueue itself idempotent).
    static func enqueue(reportID: Int64?, kind: String, key: String, to address: String, message: ReportEmail,
                        on connection: Connection) throws {
        try connection.execute(
            """
            INSERT INTO email_outbox (report_id, kind, idempotency_key, to_address, subject, html_body, text_body)
            VALUES (\(reportID), \(kind), \(key), \(address), \(message.subject), \(message.html), \(message.text))
            ON CONFLICT (idempotency_key) DO NOTHING
            """)
    }

    /// Erases the address and the body (which carries the owner's manage link) of messages sent, or given up,
    /// more than `days` days ago; the row stays for the operator. Returns how many were erased.
    static func erase(olderThanDays days: Int, on connection: Connection) throws -> Int {
        try connection.execute(
            """
            UPDATE email_outbox SET to_address = NULL, html_body = '', text_body = '', erased_at = now()
            WHERE erased_at IS NULL AND status IN ('sent', 'failed')
              AND coalesce(sent_at, updated_at) < now() - make_interval(days => \(days)::int)
            """)
    }

    /// Makes every unsent message due now (also those given up); `all: false` leaves given-up ones alone.
    /// Returns how many were reset.
    @discardableResult
    public static func makeDue(all: Bool, on connection: Connection) throws -> Int {
        let statuses: [String] = all ? ["pending", "failed"] : ["pending"]
        return try connection.execute(
            """
            UPDATE email_outbox SET status = 'pending', next_attempt_at = now(),
                attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END
            WHERE sent_at IS NULL AND status = ANY(\(statuses)) AND to_address IS NOT NULL
            """)
    }

    /// What one send attempt did.
    public enum Attempt: Sendable, Equatable {
        /// Accepted by the provider.
        case sent
        /// Failed; tried again later.
        case willRetry
        /// Failed for good (non-retryable, or out of attempts).
        case gaveUp
    }

    /// Sends due messages through Resend. One per thread (it owns an HTTP client).
    public final class Sender {
        private let resend: ResendClient
        private let settings: MonitorSettings
        private let logger: Logger

        /// A sender using `configuration`'s Resend settings; nil when e-mail is off (messages stay queued).
        public init?(configuration: AppConfiguration, logger: Logger) throws {
            guard let resendConfiguration = UpstreamConfiguration.resend(configuration) else { return nil }
            resend = try ResendClient(configuration: resendConfiguration, logger: logger)
            settings = configuration.monitor
            self.logger = logger
            from = configuration.mailFrom ?? ""
        }

        private let from: String

        /// Sends up to `limit` due messages, one claimed at a time; returns what each attempt did.
        @discardableResult
        public func sendDue(limit: Int, on connection: Connection) throws -> [Attempt] {
            var attempts: [Attempt] = []
            while attempts.count < limit, let attempt = try sendNext(on: connection) {
                attempts.append(attempt)
            }
            return attempts
        }

        /// Claims the next due message (pushing its next attempt past the send timeout, so no other sender takes it
        /// meanwhile), sends it, records the outcome. Nil when nothing is due.
        func sendNext(on connection: Connection) throws -> Attempt? {
            let claimHold = resend.configuration.timeout + 60
            guard let row = try connection.queryFirst(
                """
                UPDATE email_outbox SET attempts = attempts + 1,
                    next_attempt_at = now() + make_interval(secs => \(claimHold))
                WHERE id = (SELECT id FROM email_outbox WHERE status = 'pending' AND sent_at IS NULL
                            AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING id, idempotency_key, to_address, subject, html_body, text_body, attempts
                """)
            else { return nil }
            let id = try row.int64("id")
            let attempts = try row.int("attempts")
            let message = EmailMessage(from: from, to: [try row.string("to_address")], subject: try row.string("subject"),
                                       html: try row.string("html_body"), text: try row.string("text_body"))
            let key = try row.string("idempotency_key")
            let outcome: Result<String, ResendError>
            do throws(ResendError) {
                outcome = .success(try resend.send(message, idempotencyKey: key))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let providerID):
                try connection.execute(
                    """
                    UPDATE email_outbox SET status = 'sent', sent_at = now(), provider_id = \(providerID), last_error = NULL
                    WHERE id = \(id)
                    """)
                logger.info("E-mail sent", metadata: ["outbox_id": "\(id)", "attempts": "\(attempts)"])
                return .sent
            case .failure(let error):
                let reason = String(error.description.prefix(500))
                if error.isRetryable && attempts < settings.emailMaxAttempts {
                    var delay = EmailOutbox.backoff(attempt: attempts, base: settings.emailBackoffSeconds)
                    if case .api(_, _, _, _, let retryAfter?) = error { delay = max(delay, min(retryAfter, 3600)) }
                    try connection.execute(
                        """
                        UPDATE email_outbox SET last_error = \(reason),
                            next_attempt_at = now() + make_interval(secs => \(delay))
                        WHERE id = \(id)
                        """)
                    logger.warning("E-mail send failed, will retry", metadata: [
                        "outbox_id": "\(id)", "attempts": "\(attempts)", "delay_s": "\(Int(delay.rounded()))",
                        "error": "\(reason)",
                    ])
                    return .willRetry
                }
                try connection.execute(
                    "UPDATE email_outbox SET status = 'failed', last_error = \(reason) WHERE id = \(id)")
                logger.error("E-mail given up", metadata: [
                    "outbox_id": "\(id)", "attempts": "\(attempts)", "error": "\(reason)",
                ])
                return .gaveUp
            }
        }
    }

    /// Exponential backoff with jitter: `base·2^(attempt−1)`, capped at one hour, times a factor in [0.5, 1].
    static func backoff(attempt: Int, base: Double, random: Double = Double.random(in: 0...1)) -> Double {
        let exponent = Double(min(max(attempt - 1, 0), 30))
        let delay = min(base * pow(2, exponent), 3600)
        return delay * (0.5 + 0.5 * min(max(random, 0), 1))
    }
}
