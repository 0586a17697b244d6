public import Postgres

/// Data kept only as long as it serves its owner (product.md §15): e-mail addresses, erased from `reports` and
/// the outbox `MARKETLENS_EMAIL_RETENTION_DAYS` after their e-mail was sent, and Idempotency-Keys after 24 h.
/// Run by the monitor's maintenance pass and by `marketlens prune`.
public enum AddressErasure {
    /// What one pass erased.
    public struct Counts: Sendable, Equatable {
        public var reports = 0
        public var emails = 0
        public var idempotencyKeys = 0
    }

    /// Erases addresses used more than `days` days ago and expired Idempotency-Keys, in one transaction.
    public static func run(days: Int, on connection: Connection) throws -> Counts {
        try connection.transaction { connection in
            Counts(reports: try ReportStore.eraseEmails(olderThanDays: days, on: connection),
                   emails: try EmailOutbox.erase(olderThanDays: days, on: connection),
                   idempotencyKeys: try IdempotencyKeys.prune(on: connection))
        }
    }
}
