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
        guard LiveController.isPlausibleID(publicID) else { throw HTTPError.notFound("There is no report with this id.") }
        let (report, snapshot) = try context.database.withConnection { connection -> (Report, LiveView.Snapshot) in
            let report = try ReportAccess.require(
                try ReportStore.find(publicID: publicID, on: connection), message: "There is no report with this id.")
            return (report, try LiveView.Snapshot.load(report, on: connection, messages: recentMessages))
        }
        if report.status == .completed, let slug = report.slug {
            return try Response.redirect(to: "/r/" + Self.pathSegment(slug))
        }
        let token = CSRF.standard.token(for: request)
        let page = LiveView.page(report: report, snapshot: snapshot, csrfToken: token.value)
        var response = try context.renderPage("report-live", page)
        if let cookie = token.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }

    /// Percent-encodes anything but unreserved characters (slugs are ASCII already; this is a guard).
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
