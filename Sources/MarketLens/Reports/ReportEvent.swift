public import Foundation
public import Postgres

/// One event of a report's live log (product.md §8): what `report_events` stores and
/// `GET /reports/{id}/events` sends. The `type` is the SSE event name; the payload is its one-line JSON `data:`.
public enum ReportEvent: Sendable, Equatable {
    case status(StatusPayload)
    case progress(ProgressPayload)
    case message(MessagePayload)
    case error(ErrorPayload)
    case completed(CompletedPayload)
    case failed(FailedPayload)

    /// `{state, message}`.
    public struct StatusPayload: Codable, Sendable, Equatable {
        public var state: String
        public var message: String
        public init(state: String, message: String) { self.state = state; self.message = message }
    }

    /// `{progress, sources_considered, sources_read, recent_sources}`; `recent_sources` are http(s) URLs only.
    public struct ProgressPayload: Codable, Sendable, Equatable {
        public var progress: Double
        public var sourcesConsidered: Int
        public var sourcesRead: Int
        public var recentSources: [String]
        public init(progress: Double, sourcesConsidered: Int, sourcesRead: Int, recentSources: [String]) {
            self.progress = progress
            self.sourcesConsidered = sourcesConsidered
            self.sourcesRead = sourcesRead
            self.recentSources = recentSources
        }
        enum CodingKeys: String, CodingKey {
            case progress, sourcesConsidered = "sources_considered", sourcesRead = "sources_read"
            case recentSources = "recent_sources"
        }
    }

    /// `{kind, text, timestamp}`: an upstream progress message; `kind` is the `progress_msg.*` suffix.
    public struct MessagePayload: Codable, Sendable, Equatable {
        public var kind: String
        public var text: String
        public var timestamp: String?
        public init(kind: String, text: String, timestamp: String?) {
            self.kind = kind; self.text = text; self.timestamp = timestamp
        }
    }

    /// `{message, recoverable}`.
    public struct ErrorPayload: Codable, Sendable, Equatable {
        public var message: String
        public var recoverable: Bool
        public init(message: String, recoverable: Bool) { self.message = message; self.recoverable = recoverable }
    }

    /// `{slug, title, url}`: the report is published; the stream ends after it.
    public struct CompletedPayload: Codable, Sendable, Equatable {
        public var slug: String
        public var title: String
        public var url: String
        public init(slug: String, title: String, url: String) { self.slug = slug; self.title = title; self.url = url }
    }

    /// `{message}`: the run failed; the stream ends after it.
    public struct FailedPayload: Codable, Sendable, Equatable {
        public var message: String
        public init(message: String) { self.message = message }
    }

    /// The SSE event name / `report_events.type`.
    public var type: String {
        switch self {
        case .status: "status"
        case .progress: "progress"
        case .message: "message"
        case .error: "error"
        case .completed: "completed"
        case .failed: "failed"
        }
    }

    /// True for `completed` and `failed`, after which a stream ends.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed: true
        default: false
        }
    }

    /// The payload as compact one-line JSON (the SSE `data:` and the stored `payload`).
    public func payloadJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        switch self {
        case .status(let payload): data = try encoder.encode(payload)
        case .progress(let payload): data = try encoder.encode(payload)
        case .message(let payload): data = try encoder.encode(payload)
        case .error(let payload): data = try encoder.encode(payload)
        case .completed(let payload): data = try encoder.encode(payload)
        case .failed(let payload): data = try encoder.encode(payload)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a stored event of `type` with its JSON payload; nil for an unknown type.
    public init?(type: String, payloadJSON: String) throws {
        let decoder = JSONDecoder()
        let data = Data(payloadJSON.utf8)
        switch type {
        case "status": self = .status(try decoder.decode(StatusPayload.self, from: data))
        case "progress": self = .progress(try decoder.decode(ProgressPayload.self, from: data))
        case "message": self = .message(try decoder.decode(MessagePayload.self, from: data))
        case "error": self = .error(try decoder.decode(ErrorPayload.self, from: data))
        case "completed": self = .completed(try decoder.decode(CompletedPayload.self, from: data))
        case "failed": self = .failed(try decoder.decode(FailedPayload.self, from: data))
        default: return nil
        }
    }
}

/// A stored event with its per-report sequence number (the SSE `id:`).
public struct StoredReportEvent: Sendable, Equatable {
    public var reportID: Int64
    public var seq: Int
    public var type: String
    public var payloadJSON: String
    public var createdAt: Date

    /// Decodes a row of `SELECT report_id, seq, type, payload::text AS payload, created_at FROM report_events`.
    public init(row: Row) throws {
        reportID = try row.int64("report_id")
        seq = try row.int("seq")
        type = try row.string("type")
        payloadJSON = try row.string("payload")
        createdAt = try row.date("created_at")
    }
}

/// How single events enter `report_events` (through `append_log_events`, which locks the report row so concurrent
/// writers get gap-free, ordered sequence numbers and a duplicate `dedupeKey` is stored once; the monitor records
/// the events of many runs at once through `record_reports_events`, which appends through the same core,
/// `append_log_rows`).
public enum ReportEventLog {
    /// Appends `event` to report `reportID` (internal id); returns its seq, or nil when `dedupeKey` was seen.
    @discardableResult
    public static func append(
        _ event: ReportEvent, to reportID: Int64, dedupeKey: String?, on connection: Connection
    ) throws -> Int? {
        let payload = PostgresJSON(try event.payloadJSON())
        let row = try connection.queryFirst(
            "SELECT append_report_event(\(reportID), \(event.type), \(payload), \(dedupeKey)) AS seq")
        return try row?.optionalInt("seq")
    }

    /// Appends `event` in the slot after `head` that the caller took in its own UPDATE of the report row (raising
    /// `event_seq` to `head` + 1, under that row's lock), through the same core as every append
    /// (`append_log_rows`); returns its seq, or nil when `dedupeKey` was seen, and then gives the slot back.
    @discardableResult
    static func append(
        _ event: ReportEvent, to reportID: Int64, after head: Int, dedupeKey: String?, on connection: Connection
    ) throws -> Int? {
        let payload = try event.payloadJSON()
        let seq = try connection.queryFirst(
            """
            SELECT (append_log_rows('report', \([reportID]), \([reportID]), \([String(head)])::integer[],
                                    \([event.type])::text[], \([payload])::jsonb[], \([dedupeKey])::text[]))[1] AS seq
            """)?.optionalInt("seq")
        if seq == nil {
            try connection.execute(
                "UPDATE reports SET event_seq = \(head) WHERE id = \(reportID) AND event_seq = \(head + 1)")
        }
        return seq
    }

    /// The events of `reportID` after `seq`, in order, at most `limit`.
    public static func events(
        of reportID: Int64, after seq: Int, limit: Int = 10_000, on connection: Connection
    ) throws -> [StoredReportEvent] {
        try connection.query(
            """
            SELECT report_id, seq, type, payload::text AS payload, created_at FROM report_events
            WHERE report_id = \(reportID) AND seq > \(seq) ORDER BY seq LIMIT \(limit)
            """
        ).map(StoredReportEvent.init(row:))
    }
}
