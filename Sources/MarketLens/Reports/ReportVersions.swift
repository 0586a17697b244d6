public import Foundation
public import Postgres

/// One completed version of a report family, as a page links it.
public struct ReportVersion: Sendable, Equatable {
    public var publicID: String
    public var slug: String
    public var version: Int
    public var completedAt: Date
    public var visibility: String
}

/// The versions of a report family (issue 16, product.md §17; migration 0011): a refresh runs the same request
/// again and becomes the next version of the family, numbered when it completes.
public enum ReportVersions {
    /// The family's completed versions a reader of a report with `visibility` may be linked to, oldest first:
    /// public ones, and unlisted ones only from an unlisted version (whose readers were given an unlisted link of
    /// this family already), so a public page never reveals an unlisted address. Hidden and deleted ones never.
    public static func linkable(familyID: Int64, from visibility: String, on connection: Connection) throws
        -> [ReportVersion]
    {
        let rows = try connection.query(
            """
            SELECT public_id, slug, version, completed_at, visibility FROM reports
            WHERE family_id = \(familyID) AND status = 'completed' AND version IS NOT NULL AND NOT hidden
              AND (visibility = 'public' OR \(visibility) = 'unlisted')
            ORDER BY version
            """)
        return try rows.map { row in
            ReportVersion(
                publicID: try row.string("public_id"), slug: try row.string("slug"), version: try row.int("version"),
                completedAt: try row.date("completed_at"), visibility: try row.string("visibility"))
        }
    }

    /// The family's refresh still waiting for upstream, if any (at most one runs at a time).
    public static func activeRefresh(familyID: Int64, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            """
            SELECT \(unescaped: Report.columns) FROM reports
            WHERE family_id = \(familyID) AND status IN ('queued', 'running') AND deleted_at IS NULL
            ORDER BY id DESC LIMIT 1
            """
        ).map(Report.init(row:))
    }

    /// When the family's newest version completed (nil when none has).
    public static func newestCompletion(familyID: Int64, on connection: Connection) throws -> Date? {
        try connection.queryFirst(
            """
            SELECT max(completed_at) AS newest FROM reports
            WHERE family_id = \(familyID) AND status = 'completed' AND version IS NOT NULL AND deleted_at IS NULL
            """)?.optionalDate("newest")
    }

    /// A short text that changes whenever what a version's page says about its family changes (a version
    /// added, hidden, deleted or made unlisted; a refresh started or ended; the family becoming old enough
    /// for anyone to refresh after `days` days). It goes into the page's ETag, so the page cache's and the
    /// browser's revalidations see the change. For a query over `reports` (unaliased).
    static func familyState(refreshAfterDays days: Int) -> Query {
        """
        (SELECT string_agg(f.id::text || ':' || coalesce(f.version::text, '') || ':' || f.status || ':' \
        || f.visibility || ':' || f.hidden::text, ',' ORDER BY f.id) FROM reports f \
        WHERE f.family_id = reports.family_id) || '|' || \
        (SELECT coalesce(max(f.completed_at) < now() - make_interval(days => \(days)::int), false)::text \
        FROM reports f WHERE f.family_id = reports.family_id AND f.status = 'completed' \
        AND f.version IS NOT NULL AND f.deleted_at IS NULL)
        """
    }

    /// Whether a family whose newest version completed at `newest` may be refreshed by anyone at `now`.
    public static func isStale(newest: Date?, now: Date = Date(), refreshAfterDays days: Int) -> Bool {
        guard let newest else { return false }
        return now.timeIntervalSince(newest) > Double(days) * 86_400
    }
}

/// What a version's page, download and API answer say about its family.
public struct ReportFamily: Sendable, Equatable {
    /// The versions a reader of the report may be linked to, oldest first (`ReportVersions.linkable`).
    public var versions: [ReportVersion]
    /// The public id of a running refresh a reader may follow, if any.
    public var running: String?
    /// When the family's newest version completed: the owner-only refresh window starts there.
    public var newest: Date?
    /// The family's public id: its first report's public id.
    public var publicID: String

    public init(versions: [ReportVersion], running: String?, newest: Date?, publicID: String) {
        self.versions = versions
        self.running = running
        self.newest = newest
        self.publicID = publicID
    }

    /// The family of `report`, as a reader of it may see it.
    public static func load(for report: Report, on connection: Connection) throws -> ReportFamily {
        let versions = try ReportVersions.linkable(familyID: report.familyID, from: report.visibility, on: connection)
        let running = try ReportVersions.activeRefresh(familyID: report.familyID, on: connection)
            .flatMap { $0.visibility == "public" || report.visibility == "unlisted" ? $0.publicID : nil }
        let newest = try ReportVersions.newestCompletion(familyID: report.familyID, on: connection)
        // The first report's public id; an operator may have purged it, then the oldest remaining version's.
        let first = try connection.queryFirst(
            "SELECT public_id FROM reports WHERE id = \(report.familyID)")?.string("public_id")
        return ReportFamily(versions: versions, running: running, newest: newest,
                            publicID: first ?? versions.first?.publicID ?? report.publicID)
    }
}
