import Web

/// Every route of the app in one place (product.md §5); controllers hold the handlers.
enum Routes {
    static func make() -> Router<RequestContext> {
        var router = Router<RequestContext>()
        router.get("/", HomeController.show)
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
        return router
    }
}
