public import Postgres

/// A counter with a ceiling per clock hour (database time), kept in `rate_limits`.
public struct RateLimit: Sendable, Equatable {
    /// Which limit, for the message shown when it is hit.
    public enum Scope: String, Sendable {
        /// Every client together (`MAX_REPORTS_PER_HOUR`).
        case global
        /// One client address (`MAX_REPORTS_PER_CLIENT_PER_HOUR`).
        case client
        /// Validation checks sent to the Chat API by one client (they cost money even when nothing is created).
        case validationClient
        /// Batch runs (one per domain) of every client together (`MAX_BATCH_RUNS_PER_HOUR`).
        case batchGlobal
        /// Batch runs of one client address (`MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR`).
        case batchClient
    }

    /// The row key; client buckets hold a hash of the address, never the address itself.
    public var bucket: String
    /// Most events admitted per hour (0 admits none).
    public var limit: Int
    public var scope: Scope
    /// How much one admitted event counts (a batch counts its domains: one paid run each).
    public var cost: Int = 1

    /// The limits on creating reports: global first, then per client (always in this order, so concurrent
    /// transactions lock the rows in the same order and cannot deadlock). An API key replaces the per-address
    /// limit with its own; the global limit holds for everyone.
    public static func reportCreation(for subject: RateSubject, configuration: AppConfiguration) -> [RateLimit] {
        [
            RateLimit(bucket: "reports:all", limit: configuration.maxReportsPerHour, scope: .global),
            RateLimit(bucket: "reports:" + subject.bucket,
                      limit: subject.key?.reportsPerHour ?? configuration.maxReportsPerClientPerHour, scope: .client),
        ]
    }

    /// `reportCreation(for: .address(client), …)`.
    public static func reportCreation(client: String, configuration: AppConfiguration) -> [RateLimit] {
        reportCreation(for: .address(client), configuration: configuration)
    }

    /// Batch screening: every domain is a paid upstream run, so a batch costs its domain count.
    public static func batchCreation(domains: Int, for subject: RateSubject, configuration: AppConfiguration)
        -> [RateLimit]
    {
        [
            RateLimit(bucket: "batch-runs:all", limit: configuration.maxBatchRunsPerHour, scope: .batchGlobal,
                      cost: domains),
            RateLimit(bucket: "batch-runs:" + subject.bucket,
                      limit: subject.key?.batchRunsPerHour ?? configuration.maxBatchRunsPerClientPerHour,
                      scope: .batchClient, cost: domains),
        ]
    }

    /// `batchCreation(domains:for: .address(client), …)`.
    public static func batchCreation(domains: Int, client: String, configuration: AppConfiguration) -> [RateLimit] {
        batchCreation(domains: domains, for: .address(client), configuration: configuration)
    }

    /// The limit on Chat API validation calls of one client (`MAX_VALIDATION_CHECKS_PER_CLIENT_PER_HOUR`; cache
    /// hits are free and not counted); an API key has a bucket of its own with the same limit.
    public static func validationChecks(for subject: RateSubject, configuration: AppConfiguration) -> [RateLimit] {
        [RateLimit(bucket: "validate:" + subject.bucket,
                   limit: configuration.maxValidationChecksPerClientPerHour, scope: .validationClient)]
    }

    /// `validationChecks(for: .address(client), …)`.
    public static func validationChecks(client: String, configuration: AppConfiguration) -> [RateLimit] {
        validationChecks(for: .address(client), configuration: configuration)
    }
}

/// Whose hourly limits a request counts against: a client address (the configured per-client limits) or an API
/// key (its own limits, whatever address it comes from).
public enum RateSubject: Sendable, Equatable {
    case address(String)
    case key(APIKey)

    /// The bucket suffix: a hash of the address (never the address itself), or the key's public id.
    var bucket: String {
        switch self {
        case .address(let address): return "client:" + RateLimiter.clientKey(address)
        case .key(let key): return "key:" + key.publicID
        }
    }

    var key: APIKey? {
        if case .key(let key) = self { return key }
        return nil
    }
}

/// A limit that was reached: which one, and how long until its window ends.
public struct RateLimitExceeded: Error, Sendable, Equatable {
    public var scope: RateLimit.Scope
    /// Whole seconds until the current hour's window ends (at least 1): the `Retry-After`.
    public var retryAfter: Int

    /// The sentence for the visitor.
    public var message: String {
        let wait = retryAfter >= 120 ? "\(retryAfter / 60) minutes" : retryAfter >= 60 ? "a minute" : "\(retryAfter) seconds"
        switch scope {
        case .global:
            return "Marketlens has reached its limit of new reports for this hour. Please try again in \(wait)."
        case .client:
            return "You have reached the limit of new reports for this hour. Please try again in \(wait)."
        case .validationClient:
            return "Too many checks from your address this hour. Please try again in \(wait)."
        case .batchGlobal:
            return "Marketlens has reached its limit of batch research for this hour. Please try again in \(wait)."
        case .batchClient:
            return "You have reached the limit of batch research (companies screened) for this hour. "
                + "Please try again in \(wait), or screen fewer companies."
        }
    }
}

/// Atomic hourly counters in PostgreSQL, shared by every worker process and host.
public enum RateLimiter {
    /// Counts one event in every bucket. Each bucket is one `INSERT … ON CONFLICT DO UPDATE … RETURNING`, which
    /// takes the row lock, so concurrent callers are serialised and each sees its own count; a count over the
    /// limit throws `RateLimitExceeded`. Call it inside the transaction that does the limited work: the throw
    /// rolls the increments back with it, so a refused or failed attempt never consumes quota and no interleaving
    /// can admit more than `limit` per window.
    public static func consume(_ limits: [RateLimit], on connection: Connection) throws {
        precondition(connection.isInTransaction, "RateLimiter.consume must run inside a transaction")
        for limit in limits {
            let row = try connection.queryFirst(
                """
                INSERT INTO rate_limits AS r (bucket, window_start, count)
                VALUES (\(limit.bucket), date_trunc('hour', now()), \(limit.cost))
                ON CONFLICT (bucket, window_start) DO UPDATE SET count = r.count + \(limit.cost)
                RETURNING r.count, \(unescaped: secondsLeftSQL) AS retry_after
                """)
            let count = try row?.int("count") ?? Int.max
            if count > limit.limit {
                throw RateLimitExceeded(scope: limit.scope, retryAfter: max(1, try row?.int("retry_after") ?? 3600))
            }
        }
    }

    /// Throws `RateLimitExceeded` when a bucket is already full, without counting anything: a cheap early
    /// refusal before paid work (the Chat check). `consume` stays the authority.
    public static func check(_ limits: [RateLimit], on connection: Connection) throws {
        for limit in limits {
            let row = try connection.queryFirst(
                """
                SELECT coalesce((SELECT count FROM rate_limits
                                 WHERE bucket = \(limit.bucket) AND window_start = date_trunc('hour', now())), 0)
                       AS count, \(unescaped: secondsLeftSQL) AS retry_after
                """)
            let count = try row?.int("count") ?? 0
            if count >= limit.limit {
                throw RateLimitExceeded(scope: limit.scope, retryAfter: max(1, try row?.int("retry_after") ?? 3600))
            }
        }
    }

    /// Seconds from the statement's clock to the end of the current hour, rounded up.
    private static let secondsLeftSQL =
        "ceil(extract(epoch FROM date_trunc('hour', now()) + interval '1 hour' - clock_timestamp()))::int"

    /// A stable, non-reversible key for a client address (buckets never store raw addresses).
    public static func clientKey(_ address: String) -> String {
        // FNV-1a 64 twice with different offsets: not cryptographic, but an address space this small is
        // enumerable anyway; the point is only that rows and dumps do not list addresses in clear.
        var first: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in address.utf8 {
            first = (first ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return String(first, radix: 16) + String(second, radix: 16)
    }
}
