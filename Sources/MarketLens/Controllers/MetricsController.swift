import Web

/// `GET /metrics`: Prometheus text for this worker (nginx allows it from loopback only).
enum MetricsController {
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let text = context.app.metrics.prometheusText(live: context.app.relayHub.counters)
            + poolText(context.app.requestPool.statistics, worker: context.app.metrics.workerLabel)
        var response = Response.text(text)
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }

    /// The request threads' connection pool: how full it is, and how often a request had to wait or got 503.
    static func poolText(_ pool: ConnectionPool.Statistics, worker: String) -> String {
        let label = "worker=\"\(worker)\""
        return [
            "# HELP marketlens_db_pool_connections Database connections of the request threads' pool.",
            "# TYPE marketlens_db_pool_connections gauge",
            "marketlens_db_pool_connections{\(label),state=\"limit\"} \(pool.size)",
            "marketlens_db_pool_connections{\(label),state=\"open\"} \(pool.open)",
            "marketlens_db_pool_connections{\(label),state=\"idle\"} \(pool.idle)",
            "# HELP marketlens_db_pool_waits_total Requests that found every pooled connection in use and waited.",
            "# TYPE marketlens_db_pool_waits_total counter",
            "marketlens_db_pool_waits_total{\(label)} \(pool.waits)",
            "# HELP marketlens_db_pool_timeouts_total Requests answered 503 because no pooled connection came free in time.",
            "# TYPE marketlens_db_pool_timeouts_total counter",
            "marketlens_db_pool_timeouts_total{\(label)} \(pool.timeouts)",
        ].joined(separator: "\n") + "\n"
    }
}
