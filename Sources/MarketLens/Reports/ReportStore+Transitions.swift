import Engine
import Foundation
public import Postgres

/// What a terminal transition returns to the caller that won it: enough to send the owner's e-mail.
struct FinishedReport {
    var publicID: String
    var title: String
    /// The address, when the owner asked for e-mail (never shown, never logged).
    var email: String?
    /// The plaintext manage token kept for this e-mail; the transition cleared it from the row.
    var mailToken: String?

    init(row: Row) throws {
        publicID = try row.string("public_id")
        title = try row.string("title")
        email = try row.optionalString("email")
        mailToken = try row.optionalString("mail_token")
    }
}

extension ReportStore {
    // MARK: - Lifecycle transitions (each one conditional statement)

    /// `queued|running → completed` with its content; nil when someone else finished it first. Raises a unique
    /// violation on a slug clash (the caller retries with another suffix inside a savepoint).
    ///
    /// It also takes the next event slot (`event_seq` + 1) for the `completed` event, and returns the head
    /// before it (`ReportEventLog.append(_:to:after:…)` fills that slot): raised by a second UPDATE, as every
    /// other append does, the row was written twice, and that one-column write of a row that had just taken the
    /// whole report cost 0.63 of the 2.3 ms of server time a completion took (pg_stat_statements, 3,000 runs
    /// completing within seconds; 1.1 ms now).
    static func complete(reportID: Int64, content: String, basis: PostgresJSON, title: String, slug: String,
                         on connection: Connection) throws -> (report: FinishedReport, eventHead: Int)? {
        try connection.queryFirst(
            """
            UPDATE reports r SET status = 'completed', content = \(content), basis = \(basis),
                title = \(title), slug = \(slug), completed_at = now(), error = NULL,
                progress_meter = 100, lease_owner = NULL, lease_expires_at = NULL, mail_token = NULL,
                event_seq = r.event_seq + 1
            FROM (SELECT id, mail_token FROM reports WHERE id = \(reportID) FOR UPDATE) old
            WHERE r.id = old.id AND r.\(unescaped: active)
            RETURNING r.public_id, r.title, r.email, old.mail_token, r.event_seq - 1 AS event_head
            """
        ).map { row in (try FinishedReport(row: row), try row.int("event_head")) }
    }

    /// `queued|running → failed` (or `cancelled`) with `message`; nil when it had already finished.
    /// `onlyQueued` limits it to a report whose run was never started (a refused create).
    static func finish(reportID: Int64, as status: Report.Status, message: String, onlyQueued: Bool = false,
                       on connection: Connection) throws -> FinishedReport? {
        precondition(status == .failed || status == .cancelled, "finish(as:) is for failed or cancelled")
        let from = onlyQueued ? "r.status = 'queued'" : "r.\(active)"
        return try connection.queryFirst(
            """
            UPDATE reports r SET status = \(status.rawValue), error = \(message), completed_at = now(),
                lease_owner = NULL, lease_expires_at = NULL, mail_token = NULL
            FROM (SELECT id, mail_token FROM reports WHERE id = \(reportID) FOR UPDATE) old
            WHERE r.id = old.id AND \(unescaped: from)
            RETURNING r.public_id, r.title, r.email, old.mail_token
            """
        ).map(FinishedReport.init(row:))
    }

    // MARK: - Owner and operator controls

    /// Public ↔ unlisted; false when the report is gone.
    static func setVisibility(_ visibility: ResearchRequest.Visibility, reportID: Int64, on connection: Connection)
        throws -> Bool
    {
        try connection.execute(
            """
            UPDATE reports SET visibility = \(visibility.rawValue) WHERE id = \(reportID) AND deleted_at IS NULL
            """) == 1
    }

    /// The operator's moderation: hide (404 everywhere), or publish (unhide and make public).
    public static func setHidden(_ hidden: Bool, reportID: Int64, on connection: Connection) throws {
        if hidden {
            try connection.execute("UPDATE reports SET hidden = true WHERE id = \(reportID)")
        } else {
            try connection.execute(
                "UPDATE reports SET hidden = false, visibility = 'public' WHERE id = \(reportID) AND deleted_at IS NULL")
        }
    }

    /// Stops e-mail for good: the address and the kept token are erased, unsent messages dropped.
    /// Returns whether there was an address to erase.
    static func stopEmails(reportID: Int64, on connection: Connection) throws -> Bool {
        try connection.transaction { connection in
            try connection.execute(
                "DELETE FROM email_outbox WHERE report_id = \(reportID) AND sent_at IS NULL")
            return try connection.execute(
                """
                UPDATE reports SET email = NULL, mail_token = NULL WHERE id = \(reportID) AND email IS NOT NULL
                """) == 1
        }
    }

    /// The owner's delete: a tombstone that answers 410. A running report is cancelled; content, basis, focus,
    /// address, events and unsent e-mail go; the slug stays so its address answers 410, not 404. False when
    /// it was deleted already.
    static func delete(reportID: Int64, on connection: Connection) throws -> Bool {
        try connection.transaction { connection in
            guard try connection.queryFirst(
                """
                UPDATE reports SET deleted_at = now(), hidden = true, visibility = 'unlisted',
                    status = CASE WHEN \(unescaped: active) THEN 'cancelled' ELSE status END,
                    error = CASE WHEN \(unescaped: active) OR status = 'failed' THEN 'Deleted by its owner.' END,
                    content = CASE WHEN content IS NULL THEN NULL ELSE '' END, basis = NULL, focus = '',
                    recent_sources = '[]', email = NULL, mail_token = NULL,
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(reportID) AND deleted_at IS NULL
                RETURNING id
                """) != nil
            else { return false }
            try connection.execute("DELETE FROM report_events WHERE report_id = \(reportID)")
            try connection.execute("DELETE FROM email_outbox WHERE report_id = \(reportID)")
            return true
        }
    }

    /// The operator's hard delete (`marketlens reports delete`): the row with its events and e-mails.
    public static func purge(reportID: Int64, on connection: Connection) throws {
        try connection.execute("DELETE FROM reports WHERE id = \(reportID)")
    }

    /// Erases the addresses of finished reports whose last e-mail went out (or that finished without one)
    /// more than `days` days ago. Returns how many were erased.
    static func eraseEmails(olderThanDays days: Int, on connection: Connection) throws -> Int {
        try connection.execute(
            """
            UPDATE reports r SET email = NULL, mail_token = NULL
            WHERE r.email IS NOT NULL AND r.status NOT IN ('queued', 'running')
              AND NOT EXISTS (SELECT 1 FROM email_outbox o WHERE o.report_id = r.id AND o.status = 'pending')
              AND coalesce((SELECT max(coalesce(o.sent_at, o.updated_at)) FROM email_outbox o WHERE o.report_id = r.id),
                           r.completed_at, r.created_at) < now() - make_interval(days => \(days)::int)
            """)
    }

    // MARK: - Leases of the monitoring threads

    /// The lease statements of report runs, for the engine's `LeasedWork`.
    static let leaseStatements = LeaseStatements<(reportID: Int64, runID: String)>(
        claim: { owner, seconds, minAge, limit, connection in
            try claimRuns(owner: owner, leaseSeconds: seconds, minAge: minAge, limit: limit, on: connection)
        },
        renew: { ids, owner, seconds, connection in
            try renewLeases(ids, owner: owner, leaseSeconds: seconds, on: connection)
        },
        release: { owner, connection in try releaseLeases(owner: owner, on: connection) },
        id: { $0.reportID })

    /// Leases up to `limit` active runs nobody holds (or whose lease expired) to `owner`; of those never leased,
    /// only the ones created at least `minAge` seconds ago.
    static func claimRuns(owner: String, leaseSeconds: Double, minAge: Double = 0, limit: Int,
                          on connection: Connection) throws
        -> [(reportID: Int64, runID: String)]
    {
        try connection.query(
            """
            UPDATE reports SET lease_owner = \(owner),
                lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
            WHERE id IN (SELECT id FROM reports
                         WHERE \(unescaped: active) AND task_run_id IS NOT NULL
                           AND \(LeaseSQL.claimable(minAge: minAge))
                         ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, task_run_id
            """).map { (try $0.int64("id"), try $0.string("task_run_id")) }
    }

    /// Extends those of `owner`'s leases on `ids` that have less than two thirds of `leaseSeconds` left, in one
    /// statement, locking the rows in id order (as the monitor's batched stores do, so the two never deadlock);
    /// returns the ids still leased and active (the rest were finished, cancelled, deleted or taken over). Renewing
    /// every lease on every tick rewrote every followed row each second (1,000 rows locked at once, in the way of
    /// the event stores); a lease is now rewritten about every half of its length, each at a random point between
    /// two thirds and one third left, so leases claimed together do not stay due together.
    static func renewLeases(_ ids: [Int64], owner: String, leaseSeconds: Double, on connection: Connection) throws
        -> Set<Int64>
    {
        Set(try connection.query(
            """
            WITH held AS (
                SELECT id, lease_expires_at < now() + make_interval(secs => \(leaseSeconds) * (1 + random()) / 3) AS due
                FROM reports WHERE id = ANY(\(ids)) AND lease_owner = \(owner) AND \(unescaped: active)),
            renewed AS (
                UPDATE reports SET lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
                WHERE id IN (SELECT id FROM reports
                             WHERE id IN (SELECT id FROM held WHERE due) AND lease_owner = \(owner) AND \(unescaped: active)
                             ORDER BY id FOR UPDATE)
                RETURNING id)
            SELECT id FROM held WHERE NOT due UNION ALL SELECT id FROM renewed
            """).map { try $0.int64("id") })
    }

    /// Releases every lease `owner` holds (a clean shutdown, so another process takes over at once).
    static func releaseLeases(owner: String, on connection: Connection) throws -> Int {
        try connection.execute(
            """
            UPDATE reports SET lease_owner = NULL, lease_expires_at = NULL
            WHERE id IN (SELECT id FROM reports WHERE lease_owner = \(owner) AND \(unescaped: active)
                         ORDER BY id FOR UPDATE)
            """)
    }
}
