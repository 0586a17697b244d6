import Foundation
import Postgres
import Web

/// `POST /reports` (form), `POST /api/v1/reports` (JSON) and `POST /api/v1/validate`: a visitor's request becomes a
/// report and an upstream run (product.md §5, §7). Retrying a failed report is its owner's (`ManageController`).
enum ReportCreationController {
    /// The form post: CSRF, local checks, offer, limits, Chat check, create; 303 to the new report's page.
    @Sendable static func createFromForm(_ request: Request, _ context: RequestContext) throws -> Response {
        let form = try request.form()
        let validation = ResearchRequestValidator.validate(ResearchRequestInput(
            industry: form["industry"], region: form["region"], focus: form["focus"], email: form["email"],
            visibility: form["visibility"]))
        do {
            try CSRF.standard.verify(request, formToken: form[CSRF.standard.formField])
        } catch {
            // The cached home page has no token: without JavaScript the first post lands here. Show the form
            // again with the visitor's input and a token (and its cookie), so sending it again works.
            return try HomeController.page(
                request, context, form: HomeForm(values: validation.values, error: resubmitMessage), status: 403)
        }
        guard let research = validation.request else {
            return try HomeController.page(
                request, context,
                form: HomeForm(values: validation.values, fields: validation.fields,
                               error: "Please correct the fields marked below."),
                status: 422)
        }
        let retained = HomeForm(values: validation.values)
        do {
            switch try create(research, fresh: form["fresh"] == "1", request: request, context: context) {
            case .created(let report, let token):
                // The manage link is shown once, on the live page: handed over in a short-lived cookie scoped to
                // that page (never in an address, so no log or Referer carries it), which the page then clears.
                return try Response.redirect(to: "/reports/\(report.publicID)", status: .seeOther)
                    .settingCookie(NewManageLink.cookie(token, path: "/reports/\(report.publicID)"))
            case .existing(let identical):
                return try offerPage(identical, values: validation.values, request: request, context: context)
            }
        } catch let limit as RateLimitExceeded {
            return try HomeController.page(
                request, context, form: with(retained, error: limit.message), status: 429,
                headers: ["Retry-After": String(limit.retryAfter)])
        } catch is InputCheckUnavailable {
            return try HomeController.page(
                request, context, form: with(retained, error: InputCheckUnavailable.message), status: 503,
                headers: ["Retry-After": String(InputCheckUnavailable.retryAfter)])
        } catch let rejected as InputRejected {
            var shown = with(retained, error: rejected.verdict.refusalMessage)
            shown.fields["industry"] = "Please describe a real industry or market."
            return try HomeController.page(request, context, form: shown, status: 422)
        }
    }

    /// The JSON API: `202 {id, status, events_url, page_url, manage_url}`, or `200 {existing: {id, slug, url}}`.
    /// With `Idempotency-Key`, a repeat gets the first answer (the same report and manage link).
    @Sendable static func createFromAPI(_ request: Request, _ context: RequestContext) throws -> Response {
        try Idempotency.respond(request, context, scope: "reports") { try createOnceFromAPI(request, context) }
    }

    static func createOnceFromAPI(_ request: Request, _ context: RequestContext) throws -> Response {
        let body = try request.decodeJSON(CreateBody.self, maxBytes: 64 << 10)
        let validation = ResearchRequestValidator.validate(ResearchRequestInput(
            industry: body.industry, region: body.region, focus: body.focus, email: body.email,
            visibility: body.visibility))
        guard let research = validation.request else { throw HTTPError.unprocessable(fields: validation.fields) }
        do {
            switch try create(research, fresh: body.fresh ?? false, request: request, context: context) {
            case .created(let report, let token):
                var response = try Response.json(
                    Created(report: report, manageURL: token.url(baseURL: context.app.configuration.baseURL)),
                    status: 202
                ).cacheControl(.noStore)
                response.headers["Location"] = "/api/v1/reports/\(report.publicID)"
                return response
            case .existing(let identical):
                return try Response.json(Existing(existing: .init(
                    id: identical.publicID, slug: identical.slug, url: "/r/\(identical.slug)", title: identical.title)))
            }
        } catch {
            throw httpError(for: error)
        }
    }

    /// `{industry, region?, focus?}` → `{valid, message, fields}`: the same checks as a create, nothing created.
    @Sendable static func validate(_ request: Request, _ context: RequestContext) throws -> Response {
        let body = try request.decodeJSON(ValidateBody.self, maxBytes: 16 << 10)
        let validation = ResearchRequestValidator.validate(ResearchRequestInput(
            industry: body.industry, region: body.region, focus: body.focus))
        guard let research = validation.request else {
            let first = ["industry", "region", "focus"].compactMap { validation.fields[$0] }.first
            return try Response.json(Validity(valid: false, message: first ?? "Some fields are invalid.",
                                              fields: validation.fields))
        }
        let client = context.rateSubject(request)
        do {
            let creator = ReportCreator(configuration: context.app.configuration, logger: context.logger,
                                        completion: context.app.reportCompletion)
            let verdict = try context.database.withConnection { connection in
                try creator.checker.verdict(for: research, connection: connection, client: context.parallel) {
                    try connection.transaction {
                        try RateLimiter.consume(RateLimit.validationChecks(for: client, configuration: context.app.configuration), on: $0)
                    }
                }.verdict
            }
            return try Response.json(verdict.isValid
                ? Validity(valid: true, message: "Looks like a market we can research.", fields: [:])
                : Validity(valid: false, message: verdict.refusalMessage,
                           fields: ["industry": "Please describe a real industry or market."]))
        } catch {
            throw httpError(for: error)
        }
    }

    // MARK: - Shared

    static func create(_ research: ResearchRequest, fresh: Bool, request: Request, context: RequestContext) throws
        -> CreationOutcome
    {
        let creator = ReportCreator(configuration: context.app.configuration, logger: context.logger,
                                    completion: context.app.reportCompletion)
        let client = context.rateSubject(request)
        return try context.database.withConnection { connection in
            try creator.create(research, client: client, fresh: fresh, connection: connection,
                               parallel: context.parallel)
        }
    }

    /// nginx's `real_ip`-resolved address; an empty one shares a single bucket rather than escaping the limit.
    static func clientAddress(_ request: Request) -> String {
        request.remoteAddress.isEmpty ? "unknown" : request.remoteAddress
    }

    /// The error answer for a refusal from `ReportCreator` (other errors pass through as 500s).
    static func httpError(for error: any Error) -> any Error {
        switch error {
        case let limit as RateLimitExceeded:
            return HTTPError.tooManyRequests(retryAfter: limit.retryAfter, message: limit.message)
        case is InputCheckUnavailable:
            var unavailable = HTTPError.serviceUnavailable(
                InputCheckUnavailable.message, retryAfter: InputCheckUnavailable.retryAfter)
            unavailable.code = "validation_unavailable"
            return unavailable
        case let rejected as InputRejected:
            return HTTPError(status: 422, code: "input_rejected", message: rejected.verdict.refusalMessage,
                             fields: ["industry": "Please describe a real industry or market."])
        default:
            return error
        }
    }

    /// Shown with the form again when a post came without a valid CSRF token (see `createFromForm`).
    static let resubmitMessage =
        "Nothing was sent yet: to protect you from forged requests, please check your request and submit it again."

    static func with(_ form: HomeForm, error: String) -> HomeForm {
        var copy = form
        copy.error = error
        return copy
    }

    /// The identical-report offer: a link to it, and the same request posted again with `fresh=1`.
    static func offerPage(_ identical: IdenticalReport, values: [String: String], request: Request,
                          context: RequestContext) throws -> Response {
        let token = CSRF.standard.token(for: request)
        let page: [String: Any] = [
            "title": "A recent report already answers this",
            "description": "An identical market research report was completed recently.",
            "nav": ["home": true],
            "csrfToken": token.value,
            "existing": [
                "slug": identical.slug, "title": identical.title,
                "completedISO": identical.completedAt.formatted(.iso8601),
                "completedDate": identical.completedAt.formatted(date: .abbreviated, time: .omitted),
            ],
            "values": values,
        ]
        var response = try context.renderPage("report-offer", page)
        if let cookie = token.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }

    // MARK: - JSON shapes

    struct CreateBody: Decodable {
        var industry: String?
        var region: String?
        var focus: String?
        var email: String?
        var visibility: String?
        var fresh: Bool?
    }

    struct ValidateBody: Decodable {
        var industry: String?
        var region: String?
        var focus: String?
    }

    struct Created: Encodable {
        var id: String
        var status: String
        var eventsURL: String
        var pageURL: String
        var manageURL: String
        var error: String?

        init(report: Report, manageURL: String) {
            self.manageURL = manageURL
            id = report.publicID
            status = report.status.rawValue
            eventsURL = "/api/v1/reports/\(report.publicID)/events"
            pageURL = "/reports/\(report.publicID)"
            error = report.error
        }

        enum CodingKeys: String, CodingKey {
            case id, status, error, eventsURL = "events_url", pageURL = "page_url", manageURL = "manage_url"
        }
    }

    struct Existing: Encodable {
        struct Summary: Encodable {
            var id: String
            var slug: String
            var url: String
            var title: String
        }
        var existing: Summary
    }

    struct Validity: Encodable {
        var valid: Bool
        var message: String
        var fields: [String: String]
    }
}
