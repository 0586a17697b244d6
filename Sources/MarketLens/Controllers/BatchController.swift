import Engine
import Foundation
import Postgres
import Web

/// The batch screening API of seed 001 (`/research/batch…`, JSON and SSE only).
enum BatchController {
    /// `POST /research/batch/stream`: validate (422 before any stream), store the batch, stream its events.
    /// The response header carrying a new batch's manage link (the seed's events stay exactly as specified).
    static let manageHeader = "X-Manage-URL"

    /// With `Idempotency-Key`, a repeat attaches to the first request's batch and streams it from the start.
    @Sendable static func stream(_ request: Request, _ context: RequestContext) throws -> Response {
        // A client at its stream cap is refused before a batch it could not watch is created.
        if let refusal = context.app.relayHub.refusal(for: request.remoteAddress) {
            return LiveStream.refusal(refusal, request, retryMilliseconds: context.app.relayHub.settings.shedRetryMilliseconds)
        }
        return try Idempotency.batch(request, context, scope: "batch_stream", create: { try create(request, context) }) {
            batch, manageURL in
            var response = streamResponse(batch, resumeAfter: nil, request, context)
            if let manageURL { response.headers[manageHeader] = manageURL }
            return response
        }
    }

    /// `POST /research/batch`: the same research, answered once as JSON when it has finished (202 with the
    /// batch's address if it takes longer than `MARKETLENS_BATCH_SYNC_WAIT_SECONDS`).
    /// With `Idempotency-Key`, a repeat waits on (or answers with) the first request's batch.
    @Sendable static func runSynchronously(_ request: Request, _ context: RequestContext) throws -> Response {
        let hub = context.app.relayHub
        let refused = { (refusal: RelayHub.Refusal) in
            LiveStream.refusal(refusal, request, retryMilliseconds: hub.settings.shedRetryMilliseconds)
        }
        // The wait counts as an open stream of the client: refused before a batch it could not wait for exists.
        if let refusal = hub.refusal(for: request.remoteAddress) { return refused(refusal) }
        return try Idempotency.batch(request, context, scope: "batch", create: { try create(request, context) }) {
            batch, manageURL in
            try answerWhenFinished(batch, manageURL: manageURL, request, context)
        }
    }

    /// The finished batch as JSON (200), or its address (202) if it takes longer than the sync wait; both with
    /// the manage link, in the body and the header. The request thread is free at once: the process's wait
    /// thread answers when the batch has finished.
    static func answerWhenFinished(_ batch: BatchRecord, manageURL: String?, _ request: Request,
                                   _ context: RequestContext) throws -> Response {
        var response: Response
        if let waiting = context.app.batchWaits.response(
            for: batch, client: request.remoteAddress, wait: context.app.batchSettings.syncWait, manageURL: manageURL) {
            response = waiting
        } else {
            var document = try BatchDocument.load(batch, context)
            document.manageURL = manageURL
            response = try Response.json(document, status: 202)
                .addingHeader("Location", "/research/batch/\(batch.publicID)")
        }
        if let manageURL { response.headers[manageHeader] = manageURL }
        return response.cacheControl(.noStore)
    }

    /// `GET /research/batch/{id}`: the stored batch with its per-domain results.
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let batch = try find(request, context)
        return try Response.json(try BatchDocument.load(batch, context))
    }

    /// `GET /research/batch/{id}/events`: the whole stream again, or from after `Last-Event-ID`.
    @Sendable static func events(_ request: Request, _ context: RequestContext) throws -> Response {
        let batch = try find(request, context)
        var resume: Int?
        if let text = try request.lastEventID() {
            guard let value = Int(text), value >= 0 else {
                throw HTTPError.badRequest("Last-Event-ID must be an event id from this stream.", code: "invalid_event_id")
            }
            resume = value
        }
        return streamResponse(batch, resumeAfter: resume, request, context)
    }

    /// Validates and stores a new batch owned by a fresh manage token.
    static func create(_ request: Request, _ context: RequestContext) throws -> (BatchRecord, ManageToken) {
        guard let type = request.contentType, type.isJSON else {
            throw HTTPError.unsupportedMediaType(expected: "application/json")
        }
        let parsed = try BatchRequest.parse(json: request.body)
        let limits = RateLimit.batchCreation(
            domains: parsed.companyDomains.count, for: context.rateSubject(request),
            configuration: context.app.configuration)
        let batch: BatchRecord
        let token = ManageToken.generate()
        do {
            batch = try context.database.withConnection {
                try BatchStore.create(parsed, limits: limits, token: token, on: $0)
            }
        } catch let limit as RateLimitExceeded {
            throw HTTPError.tooManyRequests(retryAfter: limit.retryAfter, message: limit.message)
        }
        context.logger.info("batch created", metadata: ["batch": "\(batch.publicID)", "domains": "\(batch.domainCount)"])
        return (batch, token)
    }

    static func find(_ request: Request, _ context: RequestContext) throws -> BatchRecord {
        guard let id = request.parameters["id"],
              let batch = try context.database.withConnection(readOnly: true, { try BatchStore.find(publicID: id, on: $0) })
        else { throw HTTPError.notFound("No batch with this id.") }
        return batch
    }

    /// The seed's stream of `batch`: `connected` written here, then handed to the process's live writer (no
    /// thread, no connection per viewer).
    static func streamResponse(_ batch: BatchRecord, resumeAfter: Int?, _ request: Request,
                               _ context: RequestContext) -> Response {
        let hub = context.app.relayHub
        return BatchStreamer.stream(batch, resumeAfter: resumeAfter, hub: hub, client: request.remoteAddress,
                                    settings: context.app.batchSettings)
            .response { LiveStream.refusal($0, request, retryMilliseconds: hub.settings.shedRetryMilliseconds) }
    }
}

/// The JSON of `GET /research/batch/{id}` (and of `POST /research/batch` once finished).
struct BatchDocument: Encodable {
    var batchID: String
    var status: String
    var researchGoal: String
    var searchDepth: String
    var processor: String
    var maxParallelSearches: Int
    var confidenceThreshold: Double
    var createdAt: Double
    var completedAt: Double?
    var error: String?
    var summary: BatchPayload.Summary
    var results: [DomainResult]
    var highConfidenceResults: [DomainResult]
    var metrics: BatchPayload.Metrics
    var eventsURL: String
    var pageURL: String
    /// Only in the answer to the request that created the batch (or a repeat with its Idempotency-Key).
    var manageURL: String?

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id", status, researchGoal = "research_goal", searchDepth = "search_depth", processor
        case maxParallelSearches = "max_parallel_searches", confidenceThreshold = "confidence_threshold"
        case createdAt = "created_at", completedAt = "completed_at", error, summary, results
        case highConfidenceResults = "high_confidence_results", metrics, eventsURL = "events_url", pageURL = "page_url"
        case manageURL = "manage_url"
    }

    static func load(_ batch: BatchRecord, _ context: RequestContext) throws -> BatchDocument {
        try context.database.withConnection { connection in try load(batch, on: connection) }
    }

    static func load(_ batch: BatchRecord, on connection: Connection) throws -> BatchDocument {
        let results = try BatchStore.results(of: batch.id, on: connection)
        let row = try connection.queryFirst(
            """
            SELECT (metrics->>'upstream_errors')::int AS errors, status,
                   extract(epoch FROM coalesce(completed_at, now()) - coalesce(started_at, created_at))::float8 AS elapsed
            FROM batches WHERE id = \(batch.id)
            """)
        let report = BatchReport(results: results, threshold: batch.confidenceThreshold,
                                 elapsed: try row?.double("elapsed") ?? 0,
                                 upstreamErrors: try row?.optionalInt("errors") ?? 0)
        let current = try BatchStore.find(publicID: batch.publicID, on: connection) ?? batch
        return BatchDocument(
            batchID: batch.publicID, status: current.status, researchGoal: batch.researchGoal,
            searchDepth: batch.searchDepth, processor: batch.processor, maxParallelSearches: batch.maxParallel,
            confidenceThreshold: batch.confidenceThreshold, createdAt: batchTimestamp(batch.createdAt),
            completedAt: current.completedAt.map { batchTimestamp($0) }, error: current.error,
            summary: report.summary, results: results, highConfidenceResults: report.highConfidence,
            metrics: report.metrics, eventsURL: "/research/batch/\(batch.publicID)/events",
            pageURL: "/batch/\(batch.publicID)")
    }
}
