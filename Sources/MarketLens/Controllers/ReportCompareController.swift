import Foundation
import Postgres
import Web

/// `GET /r/{slug}/compare/{other}`: what changed between two versions of one report family (issue 16): key
/// figures side by side, the same table's charts overlaid, sections added or removed and a word-level diff of
/// the sections that changed. Either order of the two slugs shows the older version as "before". Two reports
/// of different families, a missing, hidden or unfinished one, or the same one twice: 404.
enum ReportCompareController {
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let notFound = HTTPError.notFound("There are no two versions of one report at this address.")
        guard let first = request.parameters["slug"], let second = request.parameters["other"], first != second,
            ReaderLinks.isValidSlug(first), ReaderLinks.isValidSlug(second)
        else { throw notFound }
        let (a, b) = try context.database.withConnection(readOnly: true) { connection in
            (try version(slug: first, on: connection), try version(slug: second, on: connection))
        }
        guard let a, let b, a.familyID == b.familyID, let versionA = a.version, let versionB = b.version else {
            throw notFound
        }
        for report in [a, b] { if let refused = ReportAccess(report).error(message: notFound.message) { throw refused } }
        let (older, newer) = versionA < versionB ? (a, b) : (b, a)
        let page = ComparePage.context(older: older, newer: newer)
        let bothPublic = older.isListed && newer.isListed
        var response = try context.renderPage("compare", page)
            .cacheControl(bothPublic ? .publicMaxAge(300) : .privateMaxAge(300))
        if !bothPublic { response.headers["X-Robots-Tag"] = "noindex" }
        return response
    }

    /// The completed report at `slug`, if any (hidden and deleted ones too: the caller answers for them).
    static func version(slug: String, on connection: Connection) throws -> Report? {
        try connection.queryFirst(
            """
            SELECT \(unescaped: Report.columns) FROM reports
            WHERE slug = \(slug) AND status = 'completed' AND content IS NOT NULL
            """
        ).map(Report.init(row:))
    }
}
