import Web

/// Every route of the app in one place (product.md §5); controllers hold the handlers.
enum Routes {
    static func make() -> Router<RequestContext> {
        var router = Router<RequestContext>()
        router.get("/", HomeController.show)
        router.get("/healthz", HealthController.live)
        router.get("/readyz", HealthController.ready)
        router.get("/metrics", MetricsController.show)
        router.post("/reports", ReportCreationController.createFromForm)
        router.post("/reports/:id/retry", ReportCreationController.retry)
        router.post("/api/v1/reports", ReportCreationController.createFromAPI)
        router.post("/api/v1/validate", ReportCreationController.validate)
        router.post("/webhooks/parallel", WebhookController.receive)
        return router
    }
}
