import Foundation
import ParallelAPI
import Postgres
import Web

/// `POST /webhooks/parallel`: Parallel's signed `task_run.status` deliveries (upstream-api.md §5). A third way,
/// beside the monitoring thread and polling, to learn that a run finished; finishing is idempotent, so whichever
/// comes first wins and the others change nothing.
enum WebhookController {
    /// Verifies, deduplicates on `webhook-id`, and finishes the report of a terminal run. 404 when webhooks are off,
    /// 401 for a bad signature, 400 for a stale timestamp or a malformed body; 200 otherwise (also for runs we do
    /// not know, so Parallel does not retry them for two days). A failure while finishing answers 500, so Parallel
    /// delivers again.
    @Sendable static func receive(_ request: Request, _ context: RequestContext) throws -> Response {
        let configuration = context.app.configuration
        guard let secret = configuration.webhookSecret else { throw HTTPError.notFound() }
        let verifier = WebhookVerifier(secret: secret, whsec: configuration.monitor.webhookSecretIsWhsec,
                                       tolerance: configuration.monitor.webhookToleranceSeconds)
        let webhookID = request.headers["webhook-id"]
        do throws(WebhookVerifier.Failure) {
            try verifier.verify(id: webhookID, timestamp: request.headers["webhook-timestamp"],
                                signature: request.headers["webhook-signature"], body: request.body)
        } catch {
            context.logger.warning("Webhook refused", metadata: ["reason": "\(error)"])
            switch error {
            case .badSignature: throw HTTPError(status: 401, code: "bad_signature", message: "The signature does not match.")
            case .staleTimestamp: throw HTTPError.badRequest("The webhook timestamp is too old or in the future.",
                                                             code: "stale_timestamp")
            case .missingHeaders: throw HTTPError.badRequest("Webhook headers are missing.", code: "missing_headers")
            }
        }
        guard let webhookID, webhookID.count <= 256 else { throw HTTPError.badRequest() }
        guard let delivery = try? JSONDecoder().decode(Delivery.self, from: Data(request.body)) else {
            throw HTTPError.badRequest("The webhook body is not a task_run.status event.")
        }
        let seen = try context.database.withConnection { connection in
            try connection.queryFirst("SELECT 1 AS seen FROM webhook_deliveries WHERE webhook_id = \(webhookID)") != nil
        }
        if !seen, delivery.type == "task_run.status" {
            try handle(run: delivery.data, context: context)
        }
        _ = try context.database.withConnection { connection in
            try connection.execute(
                "INSERT INTO webhook_deliveries (webhook_id) VALUES (\(webhookID)) ON CONFLICT DO NOTHING")
        }
        return try .json(["received": true])
    }

    private struct Delivery: Decodable {
        var type: String
        var data: TaskRun
    }

    /// Finds the report (by run id, or by `metadata.report_id` for an uncertain create) and finishes it when the
    /// run is terminal.
    private static func handle(run: TaskRun, context: RequestContext) throws {
        let configuration = context.app.configuration
        let reportID: Int64? = try context.database.withConnection { connection in
            if let id = try ReportStore.id(forRun: run.runID, on: connection) { return id }
            guard let publicID = run.metadata?["report_id"]?.stringValue else { return nil }
            return try UncertainCreates.attach(runID: run.runID, toReport: publicID, on: connection)
        }
        guard let reportID else {
            context.logger.notice("Webhook for an unknown run ignored")
            return
        }
        guard run.status.isTerminal else { return }
        let completion = ReportCompletion(baseURL: configuration.baseURL, renderer: context.app.renderer)
        var output: RunOutput?
        if run.status == .completed {
            let client = try ParallelClient(configuration: UpstreamConfiguration.parallel(configuration),
                                            logger: context.logger)
            output = try client.result(runID: run.runID, timeout: 0).output
        }
        let outcome = try context.database.withConnection { connection in
            try completion.finish(reportID: reportID, run: run, output: output, on: connection)
        }
        let described = outcome.map { String(describing: $0) } ?? "not finished"
        context.logger.info("Webhook handled", metadata: ["report_id": "\(reportID)", "outcome": "\(described)"])
    }
}
