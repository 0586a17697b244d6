import Web

/// Every route of the app in one place (product.md §5); controllers hold the handlers.
enum Routes {
    static func make() -> Router<RequestContext> {
        var router = Router<RequestContext>()
        router.get("/", HomeController.show)
        router.get("/healthz", HealthController.live)
        router.get("/readyz", HealthController.ready)
        router.get("/metrics", MetricsController.show)
        router.get("/reports/:id", LivePageController.show)
        router.get("/reports/:id/events", LiveController.events)
        router.get("/api/v1/reports/:id/events", LiveController.events)
        return router
    }
}
