import Foundation
import Postgres
import Web

/// `GET /r/{slug}` (the report page) and `GET /r/{slug}.md` (its Markdown download).
///
/// Each request makes one small query (is the report there, published, and which version); the page itself
/// comes from the process's `ReportRenderCache`, so the content is read and rendered once per process and
/// version, and a revalidation answers 304 without touching it.
enum ReportPageController {
    /// Public reports may be kept by shared caches; unlisted ones only by the visitor's own browser (a shared
    /// cache must not hand an unlisted report to someone who never had its link).
    static func cacheControl(visibility: String) -> CacheControl {
        visibility == "public" ? .publicMaxAge(300) : .privateMaxAge(300)
    }

    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        try respond(request, context, representation: "html") { report in
            let content = report.content ?? ""
            let citations = ReportCitations(content: content, basis: ReportBasis(json: report.basis?.text))
            // The report's own reference list is shown as the page's numbered list, so the body goes without it.
            let body = citations.section.map { $0.removing(from: content) } ?? content
            var page = ReportPage.context(
                report: report, rendered: ReportRendering.render(
                    content: body, citationTargets: citations.targets, completedAt: report.completedAt),
                citations: citations, baseURL: context.app.configuration.baseURL)
            page["versions"] = ReportVersionsView.context(
                for: report, family: try family(of: report, context), refreshAfterDays: refreshAfterDays(context))
            return try context.app.renderer.render("report", page)
        } wrap: { text in
            Response.html(text)
        }
    }

    @Sendable static func markdown(_ request: Request, _ context: RequestContext) throws -> Response {
        try respond(request, context, representation: "md") { report in
            let slug = report.slug ?? ""
            let metadata = ReportMarkdownExport.Metadata(
                title: report.title, industry: report.industry, region: report.region, created: report.createdAt,
                completed: report.completedAt, processor: report.processor,
                url: ReaderLinks.reportURL(baseURL: context.app.configuration.baseURL, slug: slug))
            let content = report.content ?? ""
            return ReportMarkdownExport.document(
                metadata: metadata, versions: ReportVersionsView.markdownVersions(
                    for: report, family: try family(of: report, context), baseURL: context.app.configuration.baseURL),
                content: content,
                citations: ReportCitations(content: content, basis: ReportBasis(json: report.basis?.text)))
        } wrap: { text in
            Response(status: 200, contentType: "text/markdown; charset=utf-8", text: text)
        }
    }

    static func refreshAfterDays(_ context: RequestContext) -> Int { context.app.configuration.refreshAfterDays }

    /// What a version's page and download say about its family.
    static func family(of report: Report, _ context: RequestContext) throws -> ReportFamily {
        try context.database.withConnection(readOnly: true) { connection in
            try ReportFamily.load(for: report, on: connection)
        }
    }

    /// Looks the report up, answers 304 when the client has this version, else serves the cached or freshly
    /// rendered representation with caching headers.
    static func respond(
        _ request: Request, _ context: RequestContext, representation: String,
        render: (Report) throws -> String, wrap: (String) -> Response
    ) throws -> Response {
        let notFound = HTTPError.notFound("There is no report at this address.")
        guard let slug = request.parameters["slug"], ReaderLinks.isValidSlug(slug) else { throw notFound }
        let version = try context.database.withConnection(readOnly: true) { connection in
            try connection.queryFirst(
                """
                SELECT id, visibility, completed_at, hidden, deleted_at IS NOT NULL AS deleted,
                       \(ReportVersions.familyState(refreshAfterDays: refreshAfterDays(context))) AS family
                FROM reports WHERE slug = \(slug) AND status = 'completed' AND content IS NOT NULL
                """)
        }
        guard let version else { throw notFound }
        if let refused = ReportAccess(hidden: try version.bool("hidden"), deleted: try version.bool("deleted"))
            .error(message: notFound.message) { throw refused }
        let id = try version.int64("id")
        let visibility = try version.string("visibility")
        let cacheControl = Self.cacheControl(visibility: visibility)
        let etag = ReaderCaching.etag(
            slug: slug, completedAt: try version.optionalDate("completed_at"), visibility: visibility,
            representation: representation, family: try version.optionalString("family") ?? "")
        if ReaderCaching.matches(ifNoneMatch: request.header("If-None-Match"), etag: etag) {
            return ReaderCaching.notModified(etag: etag, cacheControl: cacheControl)
        }
        let text = try context.app.reportRenderCache.text(key: ReportRenderCache.Key(id: id, etag: etag)) {
            let report = try ReportAccess.require(
                try context.database.withConnection(readOnly: true) { try ReportStore.find(id: id, on: $0) }, message: notFound.message)
            guard report.status == .completed else { throw notFound }
            return try render(report)
        }
        var response = wrap(text).cacheControl(cacheControl)
        response.headers["ETag"] = etag
        if representation == "md" {
            // The slug is [a-z0-9-] only (checked above and by the schema), so it is safe inside the quotes.
            response.headers["Content-Disposition"] = "attachment; filename=\"\(slug).md\""
        }
        if visibility != "public" { response.headers["X-Robots-Tag"] = "noindex" }
        return response
    }
}
