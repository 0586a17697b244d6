import Web

/// Every route of the app in one place (product.md §5); controllers hold the handlers.
enum Routes {
    /// The JSON API's addresses: every route under them is described in api/openapi.json (a test holds the
    /// router and the document to each other); everything else is a page for people.
    static let apiPrefixes = ["/api/v1/", "/research/", "/webhooks/", "/healthz", "/readyz"]

    /// Whether `pattern` belongs to the JSON API (see `apiPrefixes`).
    static func isAPI(_ pattern: String) -> Bool { apiPrefixes.contains { pattern.hasPrefix($0) } }

    static func make() -> Router<RequestContext> {
        var router = Router<RequestContext>()
        // The JSON API (/api/v1/…, /research/batch*) takes an optional API key (APIKeyGate); owner routes take
        // the report's manage token as their bearer instead.
        router.get("/", HomeController.show)
        router.get("/csrf-token", HomeController.csrfToken)
        router.get("/healthz", HealthController.live)
        router.get("/readyz", HealthController.ready)
        router.get("/metrics", MetricsController.show)
        router.post("/research/batch/stream", APIKeyGate.api(BatchController.stream))
        router.post("/research/batch", APIKeyGate.api(BatchController.runSynchronously))
        router.get("/research/batch/:id", APIKeyGate.api(BatchController.show))
        router.get("/research/batch/:id/events", APIKeyGate.api(BatchController.events))
        router.get("/batch", BatchPagesController.form)
        router.post("/batch", BatchPagesController.submit)
        router.get("/batch/:id", BatchPagesController.show)
        router.get("/batch/:id.csv", BatchPagesController.csv)
        router.get("/batch/:id.json", BatchPagesController.json)
        router.post("/reports", ReportCreationController.createFromForm)
        router.post("/api/v1/reports", APIKeyGate.api(ReportCreationController.createFromAPI))
        router.post("/api/v1/validate", APIKeyGate.api(ReportCreationController.validate))
        router.post("/webhooks/parallel", WebhookController.receive)
        router.get("/console", ConsoleController.show)
        router.get("/console/callback", ConsoleController.callback)
        router.post("/console/oauth/start", ConsoleController.oauthStart)
        router.post("/console/oauth/token", ConsoleController.oauthToken)
        router.post("/console/render-markdown", ConsoleController.renderMarkdown)
        // Every method under /console/api reaches the relay, whose allow-list refuses all but a few calls.
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            router.add(method, "/console/api/*rest", ConsoleController.relay)
        }
        // Reader: reports, their Markdown, the library and the read-only JSON API.
        router.get("/r/:slug", ReportPageController.show)
        router.get("/r/:slug.md", ReportPageController.markdown)
        router.post("/r/:slug/refresh", ReportRefreshController.refreshFromPage)
        router.get("/r/:slug/compare/:other", ReportCompareController.show)
        router.post("/api/v1/reports/:id/refresh", APIKeyGate.owner(ReportRefreshController.refreshFromAPI))
        router.get("/library", LibraryController.show)
        router.get("/api/v1/reports", APIKeyGate.api(ReportsAPIController.list))
        router.get("/api/v1/reports/:id", APIKeyGate.api(ReportsAPIController.show))
        // The owner's controls: the private manage page and the same over the API with the manage token.
        router.get("/manage/:token", ManageController.show)
        router.post("/manage/:token", ManageController.act)
        router.delete("/api/v1/reports/:id", APIKeyGate.owner(ManageController.deleteReport))
        router.patch("/api/v1/reports/:id", APIKeyGate.owner(ManageController.updateReport))
        router.post("/api/v1/reports/:id/cancel", APIKeyGate.owner(ManageController.cancelReport))
        // The API's description: the OpenAPI document and its page for people.
        router.get("/api/v1/openapi.json", APIReferenceController.document)
        router.get("/api", APIReferenceController.page)
        router.get("/reports/:id", LivePageController.show)
        router.get("/reports/:id/events", LiveController.events)
        router.get("/api/v1/reports/:id/events", APIKeyGate.api(LiveController.events))
        return router
    }
}
