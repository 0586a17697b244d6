import Crypto
import Foundation
import Postgres

/// `Idempotency-Key` for the creating POSTs (one table, one type for every route): the first request with a
/// key claims it (the primary key decides between concurrent duplicates), does the work and records its answer;
/// a repeat with the same body gets that answer, one with a different body a conflict. Kept 24 h.
///
/// A worker that dies mid-request leaves an unanswered claim; after `staleAfter` seconds a repeat takes it over.
/// Its first attempt may have created something before it died: for reports the upstream create is reconciled
/// by `metadata.report_id`, so the cost of a takeover is at worst one extra queued report, never a silent loss.
struct IdempotencyKeys {
    /// The route family, so the same key on two routes means two things.
    var scope: String
    /// How long a repeat waits for the first request's answer before giving up with 409.
    var wait: Double = 60
    /// An unanswered claim older than this is abandoned (its worker died).
    var staleAfter: Double = 90

    /// What a request holding a key must do.
    enum Claim: Equatable {
        /// First with this key: do the work, then `answer` (or `release` on failure).
        case fresh
        /// Answered before: `status`, `headers`, `body`, and the resource it created.
        case replay(status: Int, headers: [String: String], body: String?, resourceID: String?)
        /// The key was used with a different body.
        case mismatch
        /// The first request is still working after `wait` seconds.
        case inProgress
    }

    /// A key is 1-255 visible ASCII characters.
    static func isValid(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 255 && key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    static func digest(_ bytes: some Sequence<UInt8>) -> [UInt8] { Array(SHA256.hash(data: Array(bytes))) }

    /// Claims `key` for a request with `body`, waiting for a concurrent first request to answer.
    func claim(key: String, body: [UInt8], connection: () throws -> Connection) throws -> Claim {
        let keyHash = Self.digest(key.utf8)
        let requestHash = Self.digest(body)
        let deadline = Date().addingTimeInterval(wait)
        while true {
            let db = try connection()
            if try db.queryFirst(
                """
                INSERT INTO idempotency_keys (scope, key_hash, request_hash) VALUES (\(scope), \(keyHash), \(requestHash))
                ON CONFLICT (scope, key_hash) DO UPDATE SET request_hash = excluded.request_hash, status = NULL,
                    headers = '{}', body = NULL, resource_id = NULL, claimed_at = now(), created_at = now()
                    WHERE idempotency_keys.created_at < now() - interval '24 hours'
                RETURNING 1 AS one
                """) != nil {
                return .fresh
            }
            guard let row = try db.queryFirst(
                """
                SELECT request_hash, status, headers::text AS headers, body, resource_id,
                       claimed_at < now() - make_interval(secs => \(staleAfter)) AS stale
                FROM idempotency_keys WHERE scope = \(scope) AND key_hash = \(keyHash)
                """)
            else { continue }  // expired and deleted meanwhile: claim again
            guard try row.bytes("request_hash") == requestHash else { return .mismatch }
            if let status = try row.optionalInt("status") {
                let headers = (try? JSONDecoder().decode(
                    [String: String].self, from: Data(try row.string("headers").utf8))) ?? [:]
                return .replay(status: status, headers: headers, body: try row.optionalString("body"),
                               resourceID: try row.optionalString("resource_id"))
            }
            if try row.bool("stale"), try db.execute(
                """
                UPDATE idempotency_keys SET claimed_at = now()
                WHERE scope = \(scope) AND key_hash = \(keyHash) AND status IS NULL
                  AND claimed_at < now() - make_interval(secs => \(staleAfter))
                """) == 1 {
                return .fresh
            }
            if Date() >= deadline { return .inProgress }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Records the answer of the request that claimed `key`.
    func answer(key: String, status: Int, headers: [String: String], body: String?, resourceID: String?,
                on connection: Connection) throws {
        let json = String(decoding: try JSONEncoder().encode(headers), as: UTF8.self)
        try connection.execute(
            """
            UPDATE idempotency_keys SET status = \(status), headers = \(json)::jsonb, body = \(body),
                resource_id = \(resourceID)
            WHERE scope = \(scope) AND key_hash = \(Self.digest(key.utf8))
            """)
    }

    /// Gives `key` back after the work failed before anything was created, so a retry runs afresh.
    func release(key: String, on connection: Connection) throws {
        try connection.execute(
            "DELETE FROM idempotency_keys WHERE scope = \(scope) AND key_hash = \(Self.digest(key.utf8)) AND status IS NULL")
    }

    /// Deletes keys older than 24 hours (the monitor's maintenance pass and `marketlens prune`).
    static func prune(on connection: Connection) throws -> Int {
        try connection.execute("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'")
    }
}
