public import Foundation
public import Postgres

/// A report as stored (one row of `reports`). The e-mail address is deliberately absent: it is read only by the
/// outbox, never by code that renders pages or JSON.
public struct Report: Sendable, Equatable {
    /// The lifecycle states of product.md §7.
    public enum Status: String, Sendable, Codable, CaseIterable {
        case queued, running, completed, failed, cancelled

        /// Still waiting for upstream.
        public var isActive: Bool { self == .queued || self == .running }
    }

    public var id: Int64
    public var publicID: String
    public var taskRunID: String?
    public var title: String
    public var slug: String?
    public var industry: String
    public var region: String
    public var focus: String
    public var processor: String
    public var status: Status
    public var createUncertain: Bool
    public var content: String?
    public var basis: PostgresJSON?
    public var visibility: String
    public var hidden: Bool
    public var hasEmail: Bool
    public var error: String?
    public var progressMeter: Double
    public var sourcesConsidered: Int
    public var sourcesRead: Int
    public var recentSources: [String]
    public var eventSeq: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var completedAt: Date?
    /// Set when its owner deleted it: every page and stream of it answers 410 Gone.
    public var deletedAt: Date?
    /// The id of its family's first report: refreshes of one request are one family (`ReportVersions`).
    public var familyID: Int64
    /// Its number in the family, given when it completed (nil before, and for a failed refresh).
    public var version: Int?

    /// The columns `init(row:)` reads, for `SELECT \(raw: Report.columns) FROM reports …`.
    public static let columns = """
        id, public_id, task_run_id, title, slug, industry, region, focus, processor, status, create_uncertain, \
        content, basis, visibility, hidden, email IS NOT NULL AS has_email, error, progress_meter, \
        sources_considered, sources_read, recent_sources, event_seq, created_at, started_at, completed_at, deleted_at, \
        family_id, version
        """

    /// Decodes a row selected with `Report.columns`.
    public init(row: Row) throws {
        id = try row.int64("id")
        publicID = try row.string("public_id")
        taskRunID = try row.optionalString("task_run_id")
        title = try row.string("title")
        slug = try row.optionalString("slug")
        industry = try row.string("industry")
        region = try row.string("region")
        focus = try row.string("focus")
        processor = try row.string("processor")
        status = Status(rawValue: try row.string("status")) ?? .failed
        createUncertain = try row.bool("create_uncertain")
        content = try row.optionalString("content")
        basis = try row.optionalJSON("basis")
        visibility = try row.string("visibility")
        hidden = try row.bool("hidden")
        hasEmail = try row.bool("has_email")
        error = try row.optionalString("error")
        progressMeter = try row.double("progress_meter")
        sourcesConsidered = try row.int("sources_considered")
        sourcesRead = try row.int("sources_read")
        recentSources = (try? row.json("recent_sources").decode([String].self)) ?? []
        eventSeq = try row.int("event_seq")
        createdAt = try row.date("created_at")
        startedAt = try row.optionalDate("started_at")
        completedAt = try row.optionalDate("completed_at")
        deletedAt = try row.optionalDate("deleted_at")
        familyID = try row.int64("family_id")
        version = try row.optionalInt("version")
    }

    /// Whether anyone may list it (unlisted and hidden reports are reachable by link or not at all).
    public var isListed: Bool { visibility == "public" && !hidden }

    /// Deleted by its owner (410 Gone wherever it was shown).
    public var isDeleted: Bool { deletedAt != nil }
}
