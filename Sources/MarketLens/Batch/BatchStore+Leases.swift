import Engine
import Postgres

/// The lease statements of batches, for the engine's `LeasedWork` (each one statement for every batch a process
/// holds).
extension BatchStore {
    static let leaseStatements = LeaseStatements<Int64>(
        claim: { owner, seconds, minAge, limit, connection in
            try claimBatches(owner: owner, leaseSeconds: seconds, minAge: minAge, limit: limit, on: connection)
        },
        renew: { ids, owner, seconds, connection in
            Set(try connection.query(
                """
                UPDATE batches SET lease_expires_at = now() + make_interval(secs => \(seconds))
                WHERE id = ANY(\(ids)) AND lease_owner = \(owner) AND status = 'running'
                RETURNING id
                """).map { try $0.int64("id") })
        },
        release: { owner, connection in
            try connection.execute(
                """
                UPDATE batches SET lease_owner = NULL, lease_expires_at = NULL
                WHERE lease_owner = \(owner) AND status IN ('queued', 'running')
                """)
        },
        id: { $0 })

    /// Leases up to `limit` queued batches (created at least `minAge` seconds ago), or running ones whose owner
    /// stopped renewing, to `owner`.
    static func claimBatches(owner: String, leaseSeconds: Double, minAge: Double = 0, limit: Int,
                             on connection: Connection) throws
        -> [Int64]
    {
        try connection.query(
            """
            UPDATE batches SET lease_owner = \(owner),
                   lease_expires_at = now() + make_interval(secs => \(leaseSeconds)),
                   status = 'running', started_at = coalesce(started_at, now())
            WHERE id IN (SELECT id FROM batches
                         WHERE status IN ('queued', 'running')
                           AND \(LeaseSQL.claimable(minAge: minAge))
                         ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id
            """).map { try $0.int64("id") }
    }
}
