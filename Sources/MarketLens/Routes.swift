import Web

/// Every route of the app in one place (product.md §5); controllers hold the handlers.
enum Routes {
    static func make() -> Router<RequestContext> {
        var router = Router<RequestContext>()
        router.get("/", HomeController.show)
        router.get("/csrf-token", HomeController.csrfToken)
        router.get("/healthz", HealthController.live)
        router.get("/readyz", HealthController.ready)
        router.get("/metrics", MetricsController.show)
        router.post("/research/batch/stream", BatchController.stream)
        router.post("/research/batch", BatchController.runSynchronously)
        router.get("/research/batch/:id", BatchController.show)
        router.get("/research/batch/:id/events", BatchController.events)
        router.get("/batch", BatchPagesController.form)
        router.post("/batch", BatchPagesController.submit)
        router.get("/batch/:id", BatchPagesController.show)
        router.get("/batch/:id.csv", BatchPagesController.csv)
        router.get("/batch/:id.json", BatchPagesController.json)
        router.post("/reports", ReportCreationController.createFromForm)
        router.post("/api/v1/reports", ReportCreationController.createFromAPI)
        router.post("/api/v1/validate", ReportCreationController.validate)
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
        router.post("/api/v1/reports/:id/refresh", ReportRefreshController.refreshFromAPI)
        router.get("/library", LibraryController.show)
        router.get("/api/v1/reports", ReportsAPIController.list)
        router.get("/api/v1/reports/:id", ReportsAPIController.show)
        // The owner's controls: the private manage page and the same over the API with the manage token.
        router.get("/manage/:token", ManageController.show)
        router.post("/manage/:token", ManageController.act)
        router.delete("/api/v1/reports/:id", ManageController.deleteReport)
        router.patch("/api/v1/reports/:id", ManageController.updateReport)
        router.post("/api/v1/reports/:id/cancel", ManageController.cancelReport)
        router.get("/reports/:id", LivePageController.show)
        router.get("/reports/:id/events", LiveController.events)
        router.get("/api/v1/reports/:id/events", LiveController.events)
        return router
    }
}
