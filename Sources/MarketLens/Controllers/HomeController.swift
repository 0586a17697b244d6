import Foundation
import Postgres
import Web

/// The research form's state when it is shown again: the visitor's (cleaned) values, a message per bad field and
/// an overall message.
struct HomeForm {
    var values: [String: String] = [:]
    var fields: [String: String] = [:]
    var error: String?

    var context: [String: Any] {
        var form: [String: Any] = ["values": values, "fields": fields, "unlisted": values["visibility"] == "unlisted"]
        if let error { form["error"] = error }
        return form
    }
}

/// `GET /`: the research form, the reports in progress and the newest public reports. `POST /reports` shows the
/// same page again (403, 422, 429, 503) through `page(_:_:form:status:headers:)`.
///
/// `GET /` makes no CSRF token: for a visitor without the CSRF cookie it is the same page for everyone, public
/// and cached by nginx for up to a second. The form's script fetches a token from `GET /csrf-token` when the
/// form is first used; without JavaScript the first post is answered with the form again, the visitor's input
/// kept and a token made (`ReportCreationController.createFromForm`). A visitor who already holds the cookie
/// gets its token in the page, which is then personal (`no-store`; nginx never caches requests with cookies).
enum HomeController {
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        guard let existing = CSRF.standard.existingToken(in: request) else {
            return try page(request, context, form: HomeForm(), token: CSRF.Token(value: "", setCookie: nil))
                .cacheControl(.publicMaxAge(0))
        }
        return try page(request, context, form: HomeForm(), token: CSRF.Token(value: existing, setCookie: nil))
    }

    /// `GET /csrf-token`: `{"csrf_token": …}` for the research form's script, with the cookie when the visitor
    /// has none yet. Never cached (`no-store`, and it sets a cookie).
    @Sendable static func csrfToken(_ request: Request, _ context: RequestContext) throws -> Response {
        let token = CSRF.standard.token(for: request)
        var response = try Response.json(["csrf_token": token.value]).cacheControl(.noStore)
        if let cookie = token.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }

    /// The home page with `form` filled in, answered with `status` and extra `headers` (such as `Retry-After`).
    /// Its form carries `token` (by default the visitor's, made with its cookie when missing).
    static func page(
        _ request: Request, _ context: RequestContext, form: HomeForm, status: Int = 200,
        headers: [String: String] = [:], token: CSRF.Token? = nil
    ) throws -> Response {
        let token = token ?? CSRF.standard.token(for: request)
        var page: [String: Any] = [
            "title": form.fields.isEmpty && form.error == nil ? "New market research report" : "Check your request",
            "description": "Request a cited market-research report on any industry.",
            "nav": ["home": true],
            "csrfToken": token.value,
            "form": form.context,
        ]
        let lists = context.app.homeLists.value(key: "") { ReportLists.load(context) }
        page["inProgress"] = lists.inProgress.map { $0 as [String: Any] }
        page["latest"] = lists.latest.map { $0 as [String: Any] }
        var response = try context.renderPage("home", page, status: status)
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { response.headers[name] = value }
        if let cookie = token.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }
}

/// The short report lists of the home page, kept per process until the end of the second
/// (`MarketLensApp.homeLists`). A database outage leaves them empty instead of failing the page: the form must
/// stay usable even when the library is not.
struct ReportLists: Sendable {
    var inProgress: [[String: String]] = []
    var latest: [[String: String]] = []

    static func load(_ context: RequestContext) -> ReportLists {
        do {
            return try context.database.withConnection(readOnly: true) { connection in
                var lists = ReportLists()
                let running = try connection.query(
                    """
                    SELECT public_id, industry, region, status FROM reports
                    WHERE status IN ('queued', 'running') AND visibility = 'public' AND NOT hidden
                    ORDER BY created_at DESC LIMIT 10
                    """)
                lists.inProgress = try running.map { row in
                    let industry = try row.string("industry")
                    let region = try row.optionalString("region") ?? ""
                    return [
                        "id": try row.string("public_id"),
                        "label": region.isEmpty ? industry : "\(industry) – \(region)",
                        "state": try row.string("status"),
                    ]
                }
                let newest = try connection.query(
                    """
                    SELECT slug, title, completed_at FROM reports
                    WHERE \(unescaped: LibrarySearch.listed) AND \(unescaped: LibrarySearch.newestOfFamily)
                    ORDER BY completed_at DESC LIMIT 10
                    """)
                lists.latest = try newest.map { row in
                    let completed = try row.date("completed_at")
                    return [
                        "slug": try row.string("slug"),
                        "title": try row.string("title"),
                        "completedISO": completed.formatted(.iso8601),
                        "completedDate": completed.formatted(date: .abbreviated, time: .omitted),
                    ]
                }
                return lists
            }
        } catch {
            context.logger.warning("home page lists unavailable", metadata: ["error": "\(error)"])
            return ReportLists()
        }
    }
}
