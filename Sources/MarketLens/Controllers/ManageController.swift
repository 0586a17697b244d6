import Foundation
import Postgres
import Web

/// The owner's controls without accounts (product.md §15): `GET|POST /manage/{token}` (the private manage page
/// and its CSRF-protected forms) and `DELETE /api/v1/reports/{id}`, `POST /api/v1/reports/{id}/cancel`,
/// `PATCH /api/v1/reports/{id}` with `Authorization: Bearer <manage token>`. A wrong token and an unknown id
/// answer the same 404, so a token cannot be probed against ids; a missing token is a 403. Nothing changes on
/// a refusal.
enum ManageController {
    /// The manage page: never cached, never leaked in a Referer (nginx also keeps its address out of the log).
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let token = try pageToken(request)
        if let report = try context.database.withConnection({ try ReportStore.latest(managedBy: token, on: $0) }) {
            return try page(report: report, token: token, notice: noticeText(request), request, context)
        }
        if let batch = try context.database.withConnection({ try BatchStore.find(managedBy: token, on: $0) }) {
            return try BatchManage.page(batch: batch, token: token, request, context)
        }
        throw notFound
    }

    /// The page's forms: `action` = cancel | retry | refresh | public | unlisted | stop_emails | delete; 303 back.
    @Sendable static func act(_ request: Request, _ context: RequestContext) throws -> Response {
        let token = try pageToken(request)
        let form = try request.form()
        try CSRF.standard.verify(request, formToken: form[CSRF.standard.formField])
        let action = form["action"] ?? ""
        guard let report = try context.database.withConnection({ try ReportStore.latest(managedBy: token, on: $0) })
        else {
            guard let batch = try context.database.withConnection({ try BatchStore.find(managedBy: token, on: $0) })
            else { throw notFound }
            return try BatchManage.act(action, batch: batch, token: token, context)
        }
        let actions = ownerActions(context)
        let notice: String
        do {
            notice = try context.database.withConnection { connection -> String in
                switch action {
                case "cancel":
                    try actions.cancel(report, on: connection)
                    return "cancelled"
                case "retry":
                    _ = try actions.retry(report, client: ReportCreationController.clientAddress(request),
                                          on: connection, parallel: context.parallel)
                    return "retried"
                case "public", "unlisted":
                    try actions.setVisibility(action == "public" ? .listed : .unlisted, of: report, on: connection)
                    return action
                case "refresh":
                    _ = try ReportRefreshController.refresh(report, byOwner: true, request, context)
                    return "refreshed"
                case "stop_emails":
                    try actions.stopEmails(of: report, on: connection)
                    return "emails_stopped"
                case "delete":
                    try actions.delete(report, on: connection)
                    return "deleted"
                default:
                    throw HTTPError.badRequest("Unknown action.", code: "unknown_action")
                }
            }
        } catch let refusal as ReportOwnerActions.Refusal {
            throw httpError(refusal)
        } catch let refusal as ReportRefresh.Refusal {
            throw ReportRefreshController.httpError(refusal)
        } catch {
            throw ReportCreationController.httpError(for: error)
        }
        return privateResponse(try Response.redirect(to: "/manage/\(token.value)?done=\(notice)", status: .seeOther))
    }

    // MARK: - JSON API

    /// `DELETE /api/v1/reports/{id}` → 204.
    @Sendable static func deleteReport(_ request: Request, _ context: RequestContext) throws -> Response {
        try withOwnedReport(request, context) { report, connection in
            try ownerActions(context).delete(report, on: connection)
        }
        return privateResponse(Response(status: 204, contentType: "text/plain; charset=utf-8", text: ""))
    }

    /// `POST /api/v1/reports/{id}/cancel` → 200 with the report's state.
    @Sendable static func cancelReport(_ request: Request, _ context: RequestContext) throws -> Response {
        let report = try withOwnedReport(request, context) { report, connection in
            try ownerActions(context).cancel(report, on: connection)
        }
        return try stateResponse(report, context)
    }

    /// `PATCH /api/v1/reports/{id}` with `{visibility?: "public"|"unlisted", email_notifications?: false}`.
    @Sendable static func updateReport(_ request: Request, _ context: RequestContext) throws -> Response {
        let body = try request.decodeJSON(UpdateBody.self, maxBytes: 4 << 10)
        var visibility: ResearchRequest.Visibility?
        if let text = body.visibility {
            guard let chosen = ResearchRequest.Visibility(rawValue: text) else {
                throw HTTPError.unprocessable(fields: ["visibility": "Choose public or unlisted."])
            }
            visibility = chosen
        }
        if body.emailNotifications == true {
            throw HTTPError.unprocessable(fields: [
                "email_notifications": "E-mails can only be stopped: the address is erased when they are.",
            ])
        }
        guard visibility != nil || body.emailNotifications != nil else {
            throw HTTPError.unprocessable(fields: ["visibility": "Nothing to change."])
        }
        let report = try withOwnedReport(request, context) { report, connection in
            let actions = ownerActions(context)
            try connection.transaction { connection in
                if let visibility { try actions.setVisibility(visibility, of: report, on: connection) }
                if body.emailNotifications == false { try actions.stopEmails(of: report, on: connection) }
            }
        }
        return try stateResponse(report, context)
    }

    struct UpdateBody: Decodable {
        var visibility: String?
        var emailNotifications: Bool?
        enum CodingKeys: String, CodingKey { case visibility, emailNotifications = "email_notifications" }
    }

    // MARK: - Shared

    static let notFound = HTTPError(status: 404, code: "not_found", message: "There is nothing to manage at this address.")

    static func ownerActions(_ context: RequestContext) -> ReportOwnerActions {
        ReportOwnerActions(configuration: context.app.configuration, completion: context.app.reportCompletion,
                           logger: context.logger)
    }

    /// The token of a `/manage/{token}` address (a malformed one is a 404 without a database query).
    static func pageToken(_ request: Request) throws -> ManageToken {
        guard let token = ManageToken(presented: request.parameters["token"] ?? "") else { throw notFound }
        return token
    }

    /// Runs `body` on the report `{id}` if the request's bearer token manages it; the report as it is after.
    @discardableResult
    static func withOwnedReport(_ request: Request, _ context: RequestContext,
                                _ body: (Report, Connection) throws -> Void) throws -> Report {
        guard let token = ManageToken.bearer(request.header("Authorization")) else {
            throw HTTPError(status: 403, code: "forbidden",
                            message: "Send the report's manage token as Authorization: Bearer <token>.",
                            headers: ["WWW-Authenticate": "Bearer"])
        }
        let id = request.parameters["id"] ?? ""
        do {
            return try context.database.withConnection { connection in
                guard let report = try ReportStore.find(publicID: id, token: token, on: connection) else {
                    throw HTTPError(status: 404, code: "not_found", message: "No report with this id has this token.")
                }
                try body(report, connection)
                return try ReportStore.find(id: report.id, on: connection) ?? report
            }
        } catch let refusal as ReportOwnerActions.Refusal {
            throw httpError(refusal)
        } catch {
            throw ReportCreationController.httpError(for: error)
        }
    }

    static func httpError(_ refusal: ReportOwnerActions.Refusal) -> HTTPError {
        switch refusal {
        case .gone: ReportAccess.goneError
        case .conflict(let message): HTTPError(status: 409, code: "conflict", message: message)
        }
    }

    static func stateResponse(_ report: Report, _ context: RequestContext) throws -> Response {
        if report.isDeleted { throw ReportAccess.goneError }
        return privateResponse(try Response.json(ReportStateBody(report: report,
                                                                 baseURL: context.app.configuration.baseURL)))
    }

    /// No cache may keep it, no Referer may carry its address.
    static func privateResponse(_ response: Response) -> Response {
        response.cacheControl(.noStore).addingHeader("Referrer-Policy", "no-referrer")
    }

    static let notices: [String: String] = [
        "cancelled": "The research was cancelled.",
        "retried": "The research was started again.",
        "refreshed": "A refresh is running: it becomes the report's next version when it completes.",
        "public": "The report is public: it is listed in the library once complete.",
        "unlisted": "The report is unlisted: only people with its link can read it.",
        "emails_stopped": "E-mails are stopped and the address is erased.",
        "deleted": "The report was deleted.",
    ]

    static func noticeText(_ request: Request) -> String? {
        (try? request.queryValue("done")).flatMap { $0 }.flatMap { notices[$0] }
    }

    /// The manage page of a report.
    static func page(report: Report, token: ManageToken, notice: String?, _ request: Request,
                     _ context: RequestContext) throws -> Response {
        let csrf = CSRF.standard.token(for: request)
        let label = report.region.isEmpty ? report.industry : "\(report.industry) – \(report.region)"
        var values: [String: Any] = [
            "title": "Manage your report",
            "description": "Private controls of a Marketlens report.",
            "csrfToken": csrf.value,
            "action": "/manage/\(token.value)",
            "label": label,
            "reportID": report.publicID,
            "status": report.status.rawValue,
            "deleted": report.isDeleted,
            "active": report.status.isActive && !report.isDeleted,
            "retryable": (report.status == .failed || report.status == .cancelled) && !report.isDeleted,
            "completed": report.status == .completed && !report.isDeleted,
            "isPublic": report.visibility == "public",
            "hasEmail": report.hasEmail,
            "error": report.error ?? "",
        ]
        if let notice { values["notice"] = notice }
        if let slug = report.slug, !report.isDeleted { values["slug"] = slug }
        var response = privateResponse(try context.renderPage("manage", values))
        if let cookie = csrf.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }
}
