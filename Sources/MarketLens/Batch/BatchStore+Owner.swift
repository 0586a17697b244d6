public import Postgres

/// The owner's side of a batch: found by its manage token (the same `ManageToken` as reports), cancelled.
extension BatchStore {
    /// The batch `token` manages, if any.
    public static func find(managedBy token: ManageToken, on connection: Connection) throws -> BatchRecord? {
        try connection.queryFirst(
            "SELECT \(unescaped: columns) FROM batches WHERE manage_token_hash = \(token.hash)"
        ).map(BatchRecord.init(row:))
    }

    /// `queued|running → cancelled` in one conditional statement, with the terminal `stream_error` event (so
    /// every stream ends) and the unfinished domains cancelled; the runner loses its lease at its next renewal
    /// and stops. Parallel has no cancel call, so runs already started upstream are abandoned. False when the
    /// batch had already finished.
    public static func cancel(batchID: Int64, on connection: Connection) throws -> Bool {
        try connection.transaction { connection in
            guard try connection.queryFirst(
                """
                UPDATE batches SET status = 'cancelled', error = 'Cancelled by its owner.', completed_at = now(),
                       lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(batchID) AND status IN ('queued', 'running')
                RETURNING id
                """) != nil
            else { return false }
            try connection.execute(
                """
                UPDATE batch_results SET status = 'cancelled', completed_at = now()
                WHERE batch_id = \(batchID) AND status IN ('queued', 'running')
                """)
            try append(BatchPayload.StreamError(error: "Cancelled by its owner."), type: .streamError, to: batchID,
                       dedupeKey: "stream_error", on: connection)
            return true
        }
    }
}
