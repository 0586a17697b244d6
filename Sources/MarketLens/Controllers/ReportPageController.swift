import Foundation
import Postgres
import Web

/// `GET /r/{slug}` (the report page) and `GET /r/{slug}.md` (its Markdown download).
enum ReportPageController {
    static let cacheControl = CacheControl.publicMaxAge(300)

    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let report = try published(request, context)
        let slug = report.slug ?? ""
        let etag = ReaderCaching.etag(
            slug: slug, completedAt: report.completedAt, visibility: report.visibility, representation: "html")
        if ReaderCaching.matches(ifNoneMatch: request.header("If-None-Match"), etag: etag) {
            return ReaderCaching.notModified(etag: etag, cacheControl: cacheControl)
        }
        let rendered = context.app.reportRenderCache.rendered(
            key: ReportRenderCache.Key(id: report.id, etag: etag), content: report.content ?? "")
        let page = ReportPage.context(
            report: report, rendered: rendered, basis: ReportBasis(json: report.basis?.text),
            baseURL: context.app.configuration.baseURL)
        var response = try context.renderPage("report", page).cacheControl(cacheControl)
        response.headers["ETag"] = etag
        if !report.isListed { response.headers["X-Robots-Tag"] = "noindex" }
        return response
    }

    @Sendable static func markdown(_ request: Request, _ context: RequestContext) throws -> Response {
        let report = try published(request, context)
        let slug = report.slug ?? ""
        let etag = ReaderCaching.etag(
            slug: slug, completedAt: report.completedAt, visibility: report.visibility, representation: "md")
        if ReaderCaching.matches(ifNoneMatch: request.header("If-None-Match"), etag: etag) {
            return ReaderCaching.notModified(etag: etag, cacheControl: cacheControl)
        }
        let metadata = ReportMarkdownExport.Metadata(
            title: report.title, industry: report.industry, region: report.region, created: report.createdAt,
            completed: report.completedAt, processor: report.processor,
            url: ReaderLinks.reportURL(baseURL: context.app.configuration.baseURL, slug: slug))
        let text = ReportMarkdownExport.document(
            metadata: metadata, content: report.content ?? "", basis: ReportBasis(json: report.basis?.text))
        var response = Response(status: 200, contentType: "text/markdown; charset=utf-8", text: text)
            .cacheControl(cacheControl)
        // The slug is [a-z0-9-] only (checked below and by the schema), so it is safe inside the quotes.
        response.headers["Content-Disposition"] = "attachment; filename=\"\(slug).md\""
        response.headers["ETag"] = etag
        if !report.isListed { response.headers["X-Robots-Tag"] = "noindex" }
        return response
    }

    /// The completed, not hidden report at the slug of the path, or 404.
    static func published(_ request: Request, _ context: RequestContext) throws -> Report {
        guard let slug = request.parameters["slug"], ReaderLinks.isValidSlug(slug) else {
            throw HTTPError.notFound("There is no report at this address.")
        }
        let report = try context.database.withConnection { try ReportStore.find(slug: slug, on: $0) }
        guard let report, report.status == .completed, report.content != nil else {
            throw HTTPError.notFound("There is no report at this address.")
        }
        return report
    }
}
