import Foundation
import Postgres
import Web

/// `POST /r/{slug}/refresh` (the report page's button, a CSRF-protected form) and
/// `POST /api/v1/reports/{id}/refresh` (JSON; the owner sends `Authorization: Bearer <manage token>`): a new run of
/// the same request, which becomes the next version of the report's family (`ReportRefresh`). The owner's manage
/// page refreshes through `ManageController`.
enum ReportRefreshController {
    /// The form post: 303 to the refresh's live page (also when one is already running: the visitor follows it).
    /// The report page is cached and the same for everyone, so its form has no token: its script fetches one
    /// (`GET /csrf-token`); without JavaScript the first post gets a confirmation page carrying a token.
    @Sendable static func refreshFromPage(_ request: Request, _ context: RequestContext) throws -> Response {
        let notFound = HTTPError.notFound("There is no report at this address.")
        guard let slug = request.parameters["slug"], ReaderLinks.isValidSlug(slug) else { throw notFound }
        let form = try request.form()
        let report = try ReportAccess.require(
            try context.database.withConnection { try ReportStore.find(idOrSlug: slug, on: $0) }
                .flatMap { $0.slug == slug ? $0 : nil },
            message: notFound.message)
        do {
            try CSRF.standard.verify(request, formToken: form[CSRF.standard.formField])
        } catch {
            return try confirmationPage(report: report, request, context)
        }
        do {
            let refreshed = try refresh(report, byOwner: false, request, context)
            return try Response.redirect(to: "/reports/\(refreshed.publicID)", status: .seeOther)
        } catch ReportRefresh.Refusal.running(let running) {
            return try Response.redirect(to: "/reports/\(running)", status: .seeOther)
        } catch let refusal as ReportRefresh.Refusal {
            throw httpError(refusal)
        }
    }

    /// The JSON API: `201` with the new report's state (`Location` its API address); 403 when the caller is not
    /// the owner and the newest version is recent, 409 when the report is not completed or a refresh runs
    /// (`fields.running` names it), 410 when deleted, 429 over the creation limits.
    @Sendable static func refreshFromAPI(_ request: Request, _ context: RequestContext) throws -> Response {
        let id = request.parameters["id"] ?? ""
        let notFound = HTTPError(status: 404, code: "not_found", message: "No report has this id.")
        let (report, byOwner) = try context.database.withConnection { connection -> (Report?, Bool) in
            guard let report = try ReportStore.find(publicID: id, on: connection) else { return (nil, false) }
            guard let token = ManageToken.bearer(request.header("Authorization")) else { return (report, false) }
            return (report, try ReportStore.find(publicID: id, token: token, on: connection) != nil)
        }
        let found = try ReportAccess.require(report, message: notFound.message)
        let refreshed: Report
        do {
            refreshed = try refresh(found, byOwner: byOwner, request, context)
        } catch let refusal as ReportRefresh.Refusal {
            throw httpError(refusal)
        }
        var response = try Response.json(
            ReportStateBody(report: refreshed, baseURL: context.app.configuration.baseURL), status: 201
        ).cacheControl(.noStore)
        response.headers["Location"] = "/api/v1/reports/\(refreshed.publicID)"
        return response
    }

    /// Runs the refresh for the request's client; a `Refusal` is the caller's to answer (the form redirects to a
    /// running refresh, the API answers 409), the creation errors become their HTTP answers here.
    static func refresh(_ report: Report, byOwner: Bool, _ request: Request, _ context: RequestContext) throws
        -> Report
    {
        let refresher = ReportRefresh(configuration: context.app.configuration,
                                      completion: context.app.reportCompletion, logger: context.logger)
        do {
            return try context.database.withConnection { connection in
                try refresher.refresh(report, byOwner: byOwner,
                                      client: context.rateSubject(request),
                                      on: connection, parallel: context.parallel)
            }
        } catch let refusal as ReportRefresh.Refusal {
            throw refusal
        } catch {
            throw ReportCreationController.httpError(for: error)
        }
    }

    static func httpError(_ refusal: ReportRefresh.Refusal) -> HTTPError {
        switch refusal {
        case .gone: ReportAccess.goneError
        case .notCompleted: HTTPError(status: 409, code: "conflict", message: refusal.message)
        case .running(let publicID):
            HTTPError(status: 409, code: "refresh_running", message: refusal.message,
                      fields: ["running": publicID])
        case .tooRecent:
            HTTPError(status: 403, code: "refresh_not_allowed", message: refusal.message)
        }
    }

    /// "Refresh this report?" with a token (and its cookie): a post without one lands here, nothing done.
    static func confirmationPage(report: Report, _ request: Request, _ context: RequestContext) throws -> Response {
        let csrf = CSRF.standard.token(for: request)
        var response = try context.renderPage("report-refresh", [
            "title": "Refresh this report?",
            "description": "Run the research of a Marketlens report again.",
            "csrfToken": csrf.value,
            "reportTitle": report.title,
            "slug": report.slug ?? "",
        ], status: 403).cacheControl(.noStore)
        if let cookie = csrf.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }
}
