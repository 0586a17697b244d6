import Web

/// `GET /metrics`: Prometheus text for this worker (nginx allows it from loopback only).
enum MetricsController {
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        var response = Response.text(context.app.metrics.prometheusText(live: context.app.relayHub.counters))
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }
}
