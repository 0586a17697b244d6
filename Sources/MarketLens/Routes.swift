import Web

/// Every route of the app in one place (product.md §5); controllers hold the handlers.
enum Routes {
    static func make() -> Router<RequestContext> {
        var router = Router<RequestContext>()
        router.get("/", HomeController.show)
        router.get("/healthz", HealthController.live)
        router.get("/readyz", HealthController.ready)
        router.get("/metrics", MetricsController.show)
        // Reader: reports, their Markdown, the library and the read-only JSON API.
        router.get("/r/:slug", ReportPageController.show)
        router.get("/r/:slug.md", ReportPageController.markdown)
        router.get("/library", LibraryController.show)
        router.get("/api/v1/reports", ReportsAPIController.list)
        router.get("/api/v1/reports/:id", ReportsAPIController.show)
        return router
    }
}
