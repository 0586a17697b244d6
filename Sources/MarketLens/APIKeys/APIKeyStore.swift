import Foundation
public import Postgres

/// Reads and writes `api_keys` (all SQL of the feature lives here).
public enum APIKeyStore {
    static let columns = """
        public_id, name, reports_per_hour, batch_runs_per_hour, created_at, last_used_at, revoked_at
        """

    /// Why a key could not be created.
    public enum CreateError: Error, Equatable, CustomStringConvertible {
        case nameTaken
        public var description: String { "an API key with this name exists already (names are unique, even revoked)" }
    }

    /// Stores a new key for `name` and returns it with its secret (the only time the secret exists outside the
    /// caller). A public id that collides is drawn again.
    public static func create(name: String, reportsPerHour: Int, batchRunsPerHour: Int,
                              on connection: Connection) throws -> (APIKey, APIKeySecret) {
        if try connection.queryFirst("SELECT 1 AS one FROM api_keys WHERE name = \(name)") != nil {
            throw CreateError.nameTaken
        }
        for attempt in 1...5 {
            let secret = APIKeySecret.generate()
            do {
                guard let row = try connection.queryFirst(
                    """
                    INSERT INTO api_keys (public_id, name, key_hash, reports_per_hour, batch_runs_per_hour)
                    VALUES (\(secret.publicID), \(name), \(secret.hash), \(reportsPerHour), \(batchRunsPerHour))
                    RETURNING \(unescaped: columns)
                    """)
                else { continue }
                return (try key(from: row), secret)
            } catch let error as PostgresError where error.isUniqueViolation && attempt < 5 {
                if try connection.queryFirst("SELECT 1 AS one FROM api_keys WHERE name = \(name)") != nil {
                    throw CreateError.nameTaken
                }
            }
        }
        throw CreateError.nameTaken
    }

    /// Every key, newest first.
    public static func list(on connection: Connection) throws -> [APIKey] {
        try connection.query("SELECT \(unescaped: columns) FROM api_keys ORDER BY created_at DESC, id DESC")
            .map(key(from:))
    }

    /// Revokes the key named `nameOrID` (its name, its public id, its `mlk_` prefix, or the whole key: a leaked
    /// key can be revoked without knowing whose it is). Nil when no key matches; a key revoked before keeps its
    /// first revocation time.
    public static func revoke(_ nameOrID: String, on connection: Connection) throws -> APIKey? {
        let target: Query
        if let secret = APIKeySecret(presented: nameOrID) {
            target = "SELECT id FROM api_keys WHERE key_hash = \(secret.hash)"
        } else {
            let id = nameOrID.hasPrefix(APIKeySecret.prefix) ? String(nameOrID.dropFirst(APIKeySecret.prefix.count))
                                                              : nameOrID
            target = """
                SELECT id FROM api_keys WHERE name = \(nameOrID)
                UNION ALL SELECT id FROM api_keys WHERE public_id = \(id) LIMIT 1
                """
        }
        guard let row = try connection.queryFirst(
            """
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
            WHERE id = (\(target))
            RETURNING \(unescaped: columns)
            """)
        else { return nil }
        return try key(from: row)
    }

    /// The stored key matching `secret` (revoked or not), marking it used. `last_used_at` is written at most
    /// once a minute per key, so a busy client does not turn every read into a write.
    public static func find(_ secret: APIKeySecret, on connection: Connection) throws -> APIKey? {
        guard let row = try connection.queryFirst(
            "SELECT \(unescaped: columns), last_used_at < now() - interval '1 minute' AS stale FROM api_keys WHERE key_hash = \(secret.hash)")
        else { return nil }
        let found = try key(from: row)
        if found.revokedAt == nil, try row.optionalBool("stale") ?? true {
            try connection.execute("UPDATE api_keys SET last_used_at = now() WHERE key_hash = \(secret.hash)")
        }
        return found
    }

    static func key(from row: Row) throws -> APIKey {
        APIKey(publicID: try row.string("public_id"), name: try row.string("name"),
               reportsPerHour: try row.int("reports_per_hour"), batchRunsPerHour: try row.int("batch_runs_per_hour"),
               createdAt: try row.date("created_at"), lastUsedAt: try row.optionalDate("last_used_at"),
               revokedAt: try row.optionalDate("revoked_at"))
    }
}
