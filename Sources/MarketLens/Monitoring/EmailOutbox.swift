import Foundation
public import Logging
public import Postgres
import ResendAPI

/// The e-mail outbox: messages are enqueued in the transaction that decides to send them, and sent later by
/// `EmailOutbox.Sender` in batches under a batch key stored on the messages first, so a crash between sending and
/// recording causes a retry of the same batch that the provider deduplicates, never a lost or doubled message.
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

    /// How many due messages one housekeeping pass sends at most (two full batches).
    public static let messagesPerPass = 2 * ResendClient.batchLimit

    /// Sends due messages through Resend, in batches (`POST /emails/batch`). One per thread (it owns an HTTP
    /// client).
    ///
    /// Exactly once: the claim stores a fresh batch key on every member before anything is sent. A batch whose
    /// answer was lost or refused for a while (timeout, 5xx, 429) keeps its key and members and is sent again as
    /// it was, so Resend replays its first answer instead of sending twice; members are never regrouped.
    public final class Sender {
        private let resend: ResendClient
        private let settings: MonitorSettings
        private let logger: Logger
        private let from: String

        /// A sender using `configuration`'s Resend settings; nil when e-mail is off (messages stay queued).
        public init?(configuration: AppConfiguration, logger: Logger) throws {
            guard let resendConfiguration = UpstreamConfiguration.resend(configuration) else { return nil }
            resend = try ResendClient(configuration: resendConfiguration, logger: logger)
            settings = configuration.monitor
            self.logger = logger
            from = configuration.mailFrom ?? ""
        }

        /// Sends due messages, a batch at a time, until about `limit` were tried (a batch being retried is sent
        /// whole) or a batch is left for a later retry (Resend is in trouble: the next would wait out the same
        /// timeout); returns what each message's attempt did.
        @discardableResult
        public func sendDue(limit: Int, on connection: Connection) throws -> [Attempt] {
            var attempts: [Attempt] = []
            while attempts.count < limit,
                  let batch = try claim(limit: min(limit - attempts.count, ResendClient.batchLimit), on: connection) {
                let outcomes = try send(batch, on: connection)
                attempts += outcomes
                if outcomes.contains(.willRetry) { break }
            }
            return attempts
        }

        /// One claimed message.
        struct Member {
            var id: Int64
            var key: String
            var message: EmailMessage
            var attempts: Int
        }

        /// Claims the next batch: first an earlier batch that is due again (all its pending members, under its
        /// key), else up to `limit` due messages that were never in a batch, under a new key. Each claim pushes
        /// the members' next attempt past the send timeout, so no other sender takes them meanwhile. Nil when
        /// nothing is due.
        func claim(limit: Int, on connection: Connection) throws -> (key: String, members: [Member])? {
            let claimHold = resend.configuration.timeout + 60
            let columns: Query = "id, idempotency_key, to_address, subject, html_body, text_body, attempts, batch_key"
            var rows = try connection.query(
                """
                UPDATE email_outbox SET attempts = attempts + 1,
                    next_attempt_at = now() + make_interval(secs => \(claimHold))
                WHERE status = 'pending' AND sent_at IS NULL AND next_attempt_at <= now()
                  AND batch_key = (SELECT batch_key FROM email_outbox
                                   WHERE status = 'pending' AND sent_at IS NULL AND batch_key IS NOT NULL
                                     AND next_attempt_at <= now()
                                   ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                RETURNING \(columns)
                """)
            if rows.isEmpty {
                rows = try connection.query(
                    """
                    UPDATE email_outbox SET attempts = attempts + 1, batch_key = \("email-batch/" + UUID().uuidString.lowercased()),
                        next_attempt_at = now() + make_interval(secs => \(claimHold))
                    WHERE id IN (SELECT id FROM email_outbox
                                 WHERE status = 'pending' AND sent_at IS NULL AND batch_key IS NULL
                                   AND next_attempt_at <= now()
                                 ORDER BY next_attempt_at, id LIMIT \(max(1, limit)) FOR UPDATE SKIP LOCKED)
                    RETURNING \(columns)
                    """)
            }
            guard let key = try rows.first?.string("batch_key") else { return nil }
            // The same members in the same order on every attempt: the batch's bytes must not change under its key.
            let members = try rows.map { row in
                let key = try row.string("idempotency_key")
                return Member(
                    id: try row.int64("id"), key: key,
                    message: EmailMessage(from: from, to: [try row.string("to_address")], subject: try row.string("subject"),
                                          html: try row.string("html_body"), text: try row.string("text_body"),
                                          headers: [Self.referenceHeader: key]),
                    attempts: try row.int("attempts"))
            }.sorted { $0.id < $1.id }
            return (key, members)
        }

        /// Names each message by its outbox key (Resend's advice against threading of similar mails; the outbox
        /// row and the provider's copy are matched by it).
        static let referenceHeader = "X-Entity-Ref-ID"

        /// Sends one claimed batch and records every member's outcome.
        func send(_ batch: (key: String, members: [Member]), on connection: Connection) throws -> [Attempt] {
            let members = batch.members
            let attempts = members.map(\.attempts).max() ?? 1
            let outcome: Result<BatchResult, ResendError>
            do throws(ResendError) {
                outcome = .success(try resend.sendBatch(members.map(\.message), idempotencyKey: batch.key))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let result):
                var sent: [Int64] = [], providerIDs: [String] = [], outcomes: [Attempt] = []
                for (index, member) in members.enumerated() {
                    if let providerID = result.ids[index] {
                        sent.append(member.id)
                        providerIDs.append(providerID)
                        outcomes.append(.sent)
                    } else {
                        let reason = String((result.errors[index] ?? "refused").prefix(500))
                        // Refused alone: certainly not sent, so it leaves the batch (a retry forms a new one).
                        try connection.execute(
                            """
                            UPDATE email_outbox SET status = 'failed', last_error = \(reason), batch_key = NULL
                            WHERE id = \(member.id)
                            """)
                        logger.error("E-mail refused", metadata: ["outbox_id": "\(member.id)", "error": "\(reason)"])
                        outcomes.append(.gaveUp)
                    }
                }
                try connection.execute(
                    """
                    UPDATE email_outbox o SET status = 'sent', sent_at = now(), provider_id = s.provider_id, last_error = NULL
                    FROM unnest(\(sent), \(providerIDs)) AS s(id, provider_id) WHERE o.id = s.id
                    """)
                logger.info("E-mail batch sent", metadata: [
                    "messages": "\(sent.count)", "refused": "\(members.count - sent.count)", "attempts": "\(attempts)",
                ])
                return outcomes
            case .failure(let error):
                let ids = members.map(\.id)
                let reason = String(error.description.prefix(500))
                if error.isRetryable && attempts < settings.emailMaxAttempts {
                    var delay = EmailOutbox.backoff(attempt: attempts, base: settings.emailBackoffSeconds)
                    if case .api(_, _, _, _, let retryAfter?) = error { delay = max(delay, min(retryAfter, 3600)) }
                    // One due time for all members: the batch is claimed again whole, under the same key.
                    try connection.execute(
                        """
                        UPDATE email_outbox SET last_error = \(reason),
                            next_attempt_at = now() + make_interval(secs => \(delay))
                        WHERE id = ANY(\(ids))
                        """)
                    logger.warning("E-mail batch failed, will retry under the same key", metadata: [
                        "messages": "\(members.count)", "attempts": "\(attempts)", "delay_s": "\(Int(delay.rounded()))",
                        "error": "\(reason)",
                    ])
                    return members.map { _ in .willRetry }
                }
                // Refused as a whole (4xx): nothing of it was sent by this attempt, so `email retry --all` may form
                // a new batch. 409 invalid_idempotent_request means the members changed since an earlier attempt
                // (a report deleted, its e-mail stopped): that attempt's fate is unknown, and a new batch is the
                // operator's call. Given up after 5xx or timeouts, the batch keeps its key for a retry.
                var refused = false
                if case .api(let status, _, _, _, _) = error, (400..<500).contains(status) { refused = true }
                try connection.execute(
                    """
                    UPDATE email_outbox SET status = 'failed', last_error = \(reason),
                        batch_key = CASE WHEN \(refused) THEN NULL ELSE batch_key END
                    WHERE id = ANY(\(ids))
                    """)
                logger.error("E-mail batch given up", metadata: [
                    "messages": "\(members.count)", "attempts": "\(attempts)", "error": "\(reason)",
                ])
                return members.map { _ in .gaveUp }
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
