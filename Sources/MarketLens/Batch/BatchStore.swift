public import Foundation
public import Postgres

/// A batch row as pages and the API show it.
public struct BatchRecord: Sendable {
    public var id: Int64
    public var publicID: String
    public var researchGoal: String
    public var searchDepth: String
    public var processor: String
    public var maxParallel: Int
    public var confidenceThreshold: Double
    public var domainCount: Int
    public var status: String
    /// `public` (listed on `/batch`) or `unlisted`.
    public var visibility: String
    public var error: String?
    public var createdAt: Date
    public var completedAt: Date?

    init(row: Row) throws {
        id = try row.int64("id")
        publicID = try row.string("public_id")
        researchGoal = try row.string("research_goal")
        searchDepth = try row.string("search_depth")
        processor = try row.string("processor")
        maxParallel = try row.int("max_parallel")
        confidenceThreshold = try row.double("confidence_threshold")
        domainCount = try row.int("domain_count")
        status = try row.string("status")
        visibility = try row.string("visibility")
        error = try row.optionalString("error")
        createdAt = try row.date("created_at")
        completedAt = try row.optionalDate("completed_at")
    }

    /// Finished one way or the other.
    public var isFinished: Bool { status == "completed" || status == "failed" || status == "cancelled" }
}

/// One stored event, its payload already serialised with the seed's key order.
public struct StoredBatchEvent: Sendable, Equatable {
    public var seq: Int
    public var type: String
    public var data: String
}

/// Reads and writes `batches`, `batch_results` and `batch_events` (all SQL of the feature lives here).
public enum BatchStore {
    static let columns = """
        id, public_id, research_goal, search_depth, processor, max_parallel, confidence_threshold::float8 AS \
        confidence_threshold, domain_count, status, visibility, error, created_at, completed_at
        """

    /// `bat_` and 26 random base-36 characters (`PublicID`).
    public static func newPublicID() -> String { PublicID.make(prefix: "bat_") }

    /// Stores a new queued batch, one queued result row per domain and its `pipeline_start` event, in one
    /// transaction; a monitor picks it up from there (woken by the event's NOTIFY).
    public static func create(
        _ request: BatchRequest, limits: [RateLimit] = [], on connection: Connection
    ) throws -> BatchRecord {
        try connection.transaction { connection in
            // Counted in the creating transaction: a refused or failed batch consumes nothing.
            try RateLimiter.consume(limits, on: connection)
            let publicID = newPublicID()
            guard let row = try connection.queryFirst(
                """
                INSERT INTO batches (public_id, research_goal, search_depth, processor, max_parallel,
                                     confidence_threshold, domain_count, visibility)
                VALUES (\(publicID), \(request.researchGoal), \(request.searchDepth.rawValue),
                        \(request.searchDepth.processor), \(request.maxParallelSearches),
                        \(request.confidenceThreshold)::numeric(4,3), \(request.companyDomains.count),
                        \(request.visibility.rawValue))
                RETURNING \(unescaped: columns)
                """)
            else { throw BatchStoreError.notInserted }
            let batch = try BatchRecord(row: row)
            for (position, domain) in request.companyDomains.enumerated() {
                try connection.execute(
                    "INSERT INTO batch_results (batch_id, position, domain) VALUES (\(batch.id), \(position), \(domain))")
            }
            try append(
                BatchPayload.PipelineStart(domains: request.companyDomains, totalStrategies: request.companyDomains.count,
                                           batchID: publicID),
                type: .pipelineStart, to: batch.id, dedupeKey: "pipeline_start", on: connection)
            return batch
        }
    }

    /// The batch with this public id, or nil.
    public static func find(publicID: String, on connection: Connection) throws -> BatchRecord? {
        guard publicID.utf8.count <= 64 else { return nil }
        return try connection.queryFirst("SELECT \(unescaped: columns) FROM batches WHERE public_id = \(publicID)")
            .map(BatchRecord.init(row:))
    }

    /// The newest public batches, for the `/batch` page (unlisted ones are reachable only by their link).
    public static func recent(limit: Int = 10, on connection: Connection) throws -> [BatchRecord] {
        try connection.query(
            """
            SELECT \(unescaped: columns) FROM batches WHERE visibility = 'public'
            ORDER BY created_at DESC LIMIT \(limit)
            """)
            .map(BatchRecord.init(row:))
    }

    /// Appends an event through `append_batch_event` (gap-free seq, dedupe); returns its seq, nil if a duplicate.
    @discardableResult
    static func append(_ payload: some Encodable, type: BatchEventType, to batchID: Int64, dedupeKey: String?,
                       on connection: Connection) throws -> Int? {
        let json = try PostgresJSON(encoding: payload)
        let row = try connection.queryFirst(
            "SELECT append_batch_event(\(batchID), \(type.rawValue), \(json), \(dedupeKey)) AS seq")
        return try row?.optionalInt("seq")
    }

    /// Events after `seq`, in order, each payload re-serialised with the seed's top-level key order
    /// (jsonb keeps no order; `jsonb_each` gives each value's canonical text, so numbers stay exact).
    public static func events(of batchID: Int64, after seq: Int, limit: Int = 1_000, on connection: Connection)
        throws -> [StoredBatchEvent]
    {
        let rows = try connection.query(
            """
            SELECT e.seq, e.type, kv.key, kv.value::text AS value
            FROM (SELECT seq, type, payload FROM batch_events
                  WHERE batch_id = \(batchID) AND seq > \(seq) ORDER BY seq LIMIT \(limit)) e
            LEFT JOIN LATERAL jsonb_each(e.payload) kv ON true
            ORDER BY e.seq
            """)
        var events: [StoredBatchEvent] = []
        var current: (seq: Int, type: String, members: [String: String])?
        func flush() {
            guard let current else { return }
            events.append(StoredBatchEvent(seq: current.seq, type: current.type,
                                           data: orderedJSON(current.members, type: current.type)))
        }
        for row in rows {
            let rowSeq = try row.int("seq")
            if current?.seq != rowSeq {
                flush()
                current = (rowSeq, try row.string("type"), [:])
            }
            if let key = try row.optionalString("key"), let value = try row.optionalString("value") {
                current?.members[key] = value
            }
        }
        flush()
        return events
    }

    /// `{"k":v,…}` with the keys of `type` first in the seed's order, then any others sorted.
    static func orderedJSON(_ members: [String: String], type: String) -> String {
        let order = BatchEventType(rawValue: type)?.keyOrder ?? []
        let keys = order.filter { members[$0] != nil } + members.keys.filter { !order.contains($0) }.sorted()
        let body = keys.map { "\(jsonString($0)):\(minified(members[$0] ?? "null"))" }.joined(separator: ",")
        return "{\(body)}"
    }

    /// JSON text without the spaces PostgreSQL puts after `,` and `:` (whitespace inside strings is kept).
    static func minified(_ json: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(json.utf8.count)
        var inString = false, escaped = false
        for byte in json.utf8 {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                continue
            }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func jsonString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Every domain's result, in request order.
    public static func results(of batchID: Int64, on connection: Connection) throws -> [DomainResult] {
        try connection.query(
            """
            SELECT domain, status, matches, coalesce(confidence, 0)::float8 AS confidence, technologies::text AS technologies,
                   evidence::text AS evidence, error, run_id, summary
            FROM batch_results WHERE batch_id = \(batchID) ORDER BY position
            """
        ).map(result(from:))
    }

    static func result(from row: Row) throws -> DomainResult {
        let decoder = JSONDecoder()
        let technologies = try decoder.decode([String].self, from: Data(try row.string("technologies").utf8))
        let evidence = try decoder.decode([Evidence].self, from: Data(try row.string("evidence").utf8))
        return DomainResult(
            domain: try row.string("domain"), status: try row.string("status"), matches: try row.optionalBool("matches"),
            confidence: try row.double("confidence"), evidenceCount: evidence.count, technologies: technologies,
            evidence: evidence, summary: try row.optionalString("summary"), error: try row.optionalString("error"),
            runID: try row.optionalString("run_id"))
    }
}

/// A write that should have returned a row did not.
struct BatchStoreError: Error, CustomStringConvertible {
    var description: String
    static let notInserted = BatchStoreError(description: "batch insert returned no row")
}
