public import Foundation
public import Postgres

/// The one owner of the `reports` table (product.md §7): creation, look-ups, every state transition, the
/// monitors' leases, the owner's controls and the erasure of addresses. Callers (creation, monitor, webhook,
/// owner controls, CLI) never write `reports` themselves, so each rule lives in one statement here. Every
/// transition is one conditional `UPDATE … WHERE status IN (…) RETURNING`: whoever's statement returns the row
/// did the transition and performs its side effects; everyone else sees nil and does nothing.
public enum ReportStore {
    /// Public ids are short ASCII tokens (letters, digits, `_`, `-`): anything else cannot exist and costs no
    /// query (the live stream, the live page and the report API check it first).
    static func isPlausiblePublicID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0)
                || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// The statuses a report still waits for upstream in (`queued`, `running`).
    static let active = "status IN ('queued', 'running')"

    // MARK: - Look-ups

    /// The report with public id `publicID`, if any (hidden and deleted ones included: callers decide).
    public static func find(publicID: String, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            "SELECT \(unescaped: Report.columns) FROM reports WHERE public_id = \(publicID)"
        ).map(Report.init(row:))
    }

    /// The report with internal id `id`, if any.
    public static func find(id: Int64, on connection: Connection) throws -> Report? {
        try connection.queryFirst("SELECT \(unescaped: Report.columns) FROM reports WHERE id = \(id)")
            .map(Report.init(row:))
    }

    /// The report with public id or slug `key` (the operator's CLI accepts either), hidden or not.
    public static func find(idOrSlug key: String, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            "SELECT \(unescaped: Report.columns) FROM reports WHERE public_id = \(key) OR slug = \(key) LIMIT 1"
        ).map(Report.init(row:))
    }

    /// The report with public id `publicID` if `token` is its manage token; nil for any other token, so a
    /// wrong token and an unknown id look the same.
    public static func find(publicID: String, token: ManageToken, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            """
            SELECT \(unescaped: Report.columns) FROM reports
            WHERE public_id = \(publicID) AND manage_token_hash = \(token.hash)
            """
        ).map(Report.init(row:))
    }

    /// The newest report `token` manages (a retry carries its original's token, and is what the link shows).
    public static func latest(managedBy token: ManageToken, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            """
            SELECT \(unescaped: Report.columns) FROM reports WHERE manage_token_hash = \(token.hash)
            ORDER BY created_at DESC, id DESC LIMIT 1
            """
        ).map(Report.init(row:))
    }

    /// The newest public, visible report completed within `days` days for the same normalised industry, region
    /// and focus (product.md §7.2). Unlisted reports are never offered: their link is their owner's secret.
    public static func findIdentical(_ request: ResearchRequest, withinDays days: Int, on connection: Connection)
        throws -> IdenticalReport?
    {
        guard let row = try connection.queryFirst(
            """
            SELECT public_id, slug, title, completed_at FROM reports
            WHERE request_key = report_request_key(\(request.industry), \(request.region), \(request.focus))
              AND status = 'completed' AND NOT hidden AND visibility = 'public' AND slug IS NOT NULL
              AND completed_at > now() - \(days) * interval '1 day'
            ORDER BY completed_at DESC LIMIT 1
            """)
        else { return nil }
        return IdenticalReport(publicID: try row.string("public_id"), slug: try row.string("slug"),
                               title: try row.string("title"), completedAt: try row.date("completed_at"))
    }

    /// The current status of report `id`; nil when it no longer exists.
    static func status(of id: Int64, lock: Bool = false, on connection: Connection) throws -> Report.Status? {
        let row = lock
            ? try connection.queryFirst("SELECT status FROM reports WHERE id = \(id) FOR UPDATE")
            : try connection.queryFirst("SELECT status FROM reports WHERE id = \(id)")
        return try row.flatMap { Report.Status(rawValue: try $0.string("status")) }
    }

    /// The internal id of the report following upstream run `runID`.
    static func id(forRun runID: String, on connection: Connection) throws -> Int64? {
        try connection.queryFirst("SELECT id FROM reports WHERE task_run_id = \(runID)")?.int64("id")
    }

    /// Active reports with a run: only `publicID` (leased or not), or every one nobody holds a live lease on.
    static func orphanedRuns(publicID: String?, on connection: Connection) throws -> [(id: Int64, publicID: String, runID: String)] {
        let rows: [Row]
        if let publicID {
            rows = try connection.query(
                """
                SELECT id, public_id, task_run_id FROM reports
                WHERE public_id = \(publicID) AND \(unescaped: active) AND task_run_id IS NOT NULL
                """)
        } else {
            rows = try connection.query(
                """
                SELECT id, public_id, task_run_id FROM reports
                WHERE \(unescaped: active) AND task_run_id IS NOT NULL
                  AND (lease_expires_at IS NULL OR lease_expires_at < now())
                ORDER BY created_at
                """)
        }
        return try rows.map { (try $0.int64("id"), try $0.string("public_id"), try $0.string("task_run_id")) }
    }

    /// A new public id: `rpt_` and 26 random base-36 characters (`PublicID`).
    public static func newPublicID() -> String { PublicID.make(prefix: "rpt_") }

    // MARK: - Creation

    /// Inserts a `queued` report owned by `token`; returns its internal id. With an address, the plaintext
    /// token is kept (`mail_token`) until the report's last e-mail is enqueued, which must carry the link.
    static func insert(_ request: ResearchRequest, publicID: String, processor: String, token: ManageToken,
                       on connection: Connection) throws -> Int64 {
        let row = try connection.queryFirst(
            """
            INSERT INTO reports (public_id, title, industry, region, focus, processor, visibility, email,
                                 manage_token_hash, mail_token)
            VALUES (\(publicID), \(request.title), \(request.industry), \(request.region), \(request.focus),
                    \(processor), \(request.visibility.rawValue), \(request.email), \(token.hash),
                    \(request.email == nil ? nil : token.value))
            RETURNING id
            """)
        guard let id = try row?.int64("id") else { throw ReportStoreError.notInserted }
        return id
    }

    /// Inserts a `queued` copy of failed or cancelled report `old` (same request, processor, visibility,
    /// address, owner and family: a retried refresh is still that family's refresh) under `publicID`. Nil when `old` is missing, deleted or not finished unsuccessfully.
    static func insertRetry(of old: Int64, publicID: String, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            """
            INSERT INTO reports (public_id, title, industry, region, focus, processor, visibility, email,
                                 manage_token_hash, mail_token, family_id)
            SELECT \(publicID), title, industry, region, focus, processor, visibility, email,
                   manage_token_hash, mail_token, family_id
            FROM reports WHERE id = \(old) AND status IN ('failed', 'cancelled') AND deleted_at IS NULL
            RETURNING \(unescaped: Report.columns)
            """
        ).map(Report.init(row:))
    }

    /// Inserts a `queued` refresh of completed report `old` into its family (same request, processor,
    /// visibility and owner; no address: whoever refreshed may not be the owner, who is not e-mailed about it)
    /// under `publicID`. Nil when `old` is missing, deleted or not completed.
    static func insertRefresh(of old: Int64, publicID: String, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            """
            INSERT INTO reports (public_id, title, industry, region, focus, processor, visibility,
                                 manage_token_hash, family_id)
            SELECT \(publicID), title, industry, region, focus, processor, visibility, manage_token_hash, family_id
            FROM reports WHERE id = \(old) AND status = 'completed' AND deleted_at IS NULL
            RETURNING \(unescaped: Report.columns)
            """
        ).map(Report.init(row:))
    }

    /// Records the upstream run of a freshly created report.
    static func recordRun(_ runID: String, reportID: Int64, on connection: Connection) throws {
        try connection.execute("UPDATE reports SET task_run_id = \(runID) WHERE id = \(reportID)")
    }

    /// Flags a create whose outcome is unknown, for reconciliation (never a blind second create).
    static func markCreateUncertain(reportID: Int64, on connection: Connection) throws {
        try connection.execute("UPDATE reports SET create_uncertain = true WHERE id = \(reportID)")
    }

    /// Records `runID` as the run of the report with public id `publicID` if it has none yet (a webhook or the
    /// retried create resolved an uncertain create). Returns the report's internal id when attached.
    static func attach(runID: String, toReport publicID: String, on connection: Connection) throws -> Int64? {
        try connection.queryFirst(
            """
            UPDATE reports SET task_run_id = \(runID), create_uncertain = false, next_poll_at = NULL
            WHERE public_id = \(publicID) AND task_run_id IS NULL AND \(unescaped: active)
            RETURNING id
            """)?.int64("id")
    }

    /// Uncertain creates retried more than `grace` seconds ago and still unresolved (at most 10).
    static func staleUncertainCreates(grace: Double, on connection: Connection) throws -> [Int64] {
        try connection.query(
            """
            SELECT id FROM reports WHERE status = 'queued' AND task_run_id IS NULL AND create_uncertain
              AND next_poll_at IS NOT NULL AND next_poll_at < now() - make_interval(secs => \(grace))
            LIMIT 10
            """).map { try $0.int64("id") }
    }

    /// Takes the oldest uncertain create older than `grace` seconds that was never retried, marking it retried
    /// now (so no other process retries it too).
    static func takeUncertainCreate(grace: Double, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            """
            UPDATE reports SET next_poll_at = now()
            WHERE id = (SELECT id FROM reports
                        WHERE status = 'queued' AND task_run_id IS NULL AND create_uncertain AND next_poll_at IS NULL
                          AND created_at < now() - make_interval(secs => \(grace))
                        ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: Report.columns)
            """
        ).map(Report.init(row:))
    }

    /// Sets `event_seq` after an import (the import writes the events with their own seqs).
    public static func setEventSeq(_ seq: Int, reportID: Int64, on connection: Connection) throws {
        try connection.execute("UPDATE reports SET event_seq = \(seq)::int WHERE id = \(reportID)")
    }
}

/// A store statement that had to return a row returned none.
public struct ReportStoreError: Error, CustomStringConvertible {
    public var description: String
    static let notInserted = ReportStoreError(description: "report insert returned no row")
}
