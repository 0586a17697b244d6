import Foundation
import Postgres
import Web

/// `GET /reports/{id}`: the live progress page while a report runs; the report itself once it is complete
/// (303 to `/r/{slug}`); the reason and a retry button when it failed.
enum LivePageController {
    /// Messages shown on the server-rendered page (the stream adds the rest).
    static let recentMessages = 20

    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let publicID = request.parameters["id"] ?? ""
        guard ReportStore.isPlausiblePublicID(publicID) else { throw HTTPError.notFound("There is no report with this id.") }
        let fresh = NewManageLink.presented(in: request)
        let (report, snapshot, owns) = try context.database.withConnection(readOnly: true) {
            connection -> (Report, LiveView.Snapshot, Bool) in
            let report = try ReportAccess.require(
                try ReportStore.find(publicID: publicID, on: connection), message: "There is no report with this id.")
            let owns = try fresh.map { try ReportStore.find(publicID: publicID, token: $0, on: connection) != nil }
                ?? false
            return (report, try LiveView.Snapshot.load(report, on: connection, messages: recentMessages), owns)
        }
        if report.status == .completed, let slug = report.slug {
            return try Response.redirect(to: "/r/" + Self.pathSegment(slug))
        }
        let token = CSRF.standard.token(for: request)
        var page = LiveView.page(report: report, snapshot: snapshot, csrfToken: token.value)
        if owns, let fresh { page["manageURL"] = fresh.url(baseURL: context.app.configuration.baseURL) }
        var response = try context.renderPage("report-live", page)
        if let cookie = token.setCookie { response.headers.add("Set-Cookie", cookie) }
        if fresh != nil {
            // Shown once: the cookie goes, and this copy of the page is kept by no cache.
            response = response.settingCookie(NewManageLink.clearing(path: "/reports/\(report.publicID)")).cacheControl(.noStore)
        }
        return response
    }

    /// Percent-encodes anything but unreserved characters (slugs are ASCII already; this is a guard).
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
