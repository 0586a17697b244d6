import Foundation
import Postgres

/// The runner's view of one batch in PostgreSQL. Every write first locks the batch row and checks that this
/// owner still holds the lease (`LeaseLost` otherwise), so a worker that lost its lease cannot write.
struct BatchLedger {
    let batchID: Int64
    let owner: String
    let connection: Connection

    struct State {
        var publicID: String
        var goal: String
        var processor: String
        var maxParallel: Int
        var status: String
        var taskgroupID: String?
        var cursor: String?
    }

    struct LeaseLost: Error, CustomStringConvertible {
        var description: String { "batch lease lost" }
    }

    func load() throws -> State? {
        guard let row = try connection.queryFirst(
            """
            SELECT public_id, research_goal, processor, max_parallel, status, taskgroup_id, group_event_cursor
            FROM batches WHERE id = \(batchID)
            """)
        else { return nil }
        return State(publicID: try row.string("public_id"), goal: try row.string("research_goal"),
                     processor: try row.string("processor"), maxParallel: try row.int("max_parallel"),
                     status: try row.string("status"), taskgroupID: try row.optionalString("taskgroup_id"),
                     cursor: try row.optionalString("group_event_cursor"))
    }

    /// Locks the batch row inside a transaction and checks the lease.
    private func owned<T>(_ body: (Connection) throws -> T) throws -> T {
        try connection.transaction { connection in
            guard try connection.queryFirst(
                "SELECT id FROM batches WHERE id = \(batchID) AND lease_owner = \(owner) FOR UPDATE") != nil
            else { throw LeaseLost() }
            return try body(connection)
        }
    }

    func setGroup(_ groupID: String) throws {
        _ = try owned { connection in
            try connection.execute(
                "UPDATE batches SET taskgroup_id = \(groupID) WHERE id = \(batchID) AND taskgroup_id IS NULL")
        }
    }

    func setCursor(_ cursor: String) throws {
        _ = try owned { connection in
            try connection.execute("UPDATE batches SET group_event_cursor = \(cursor) WHERE id = \(batchID)")
        }
    }

    func hasUnassigned() throws -> Bool {
        try connection.queryFirst(
            "SELECT 1 AS one FROM batch_results WHERE batch_id = \(batchID) AND run_id IS NULL AND status = 'queued' LIMIT 1"
        ) != nil
    }

    func activeCount() throws -> Int {
        try connection.queryFirst(
            """
            SELECT count(*)::int AS n FROM batch_results
            WHERE batch_id = \(batchID) AND run_id IS NOT NULL AND status IN ('queued', 'running')
            """
        )?.int("n") ?? 0
    }

    func activeRunIDs() throws -> [String] {
        try connection.query(
            """
            SELECT run_id FROM batch_results
            WHERE batch_id = \(batchID) AND run_id IS NOT NULL AND status IN ('queued', 'running') ORDER BY position
            """
        ).map { try $0.string("run_id") }
    }

    func pendingDomains(limit: Int) throws -> [(position: Int, domain: String)] {
        guard limit > 0 else { return [] }
        return try connection.query(
            """
            SELECT position, domain FROM batch_results
            WHERE batch_id = \(batchID) AND run_id IS NULL AND status = 'queued' ORDER BY position LIMIT \(limit)
            """
        ).map { (try $0.int("position"), try $0.string("domain")) }
    }

    func assign(runIDs: [String], to positions: [Int]) throws {
        try adopt(Array(zip(positions, runIDs)))
    }

    /// Records run ids for rows that have none (a run id already recorded elsewhere is left alone).
    @discardableResult
    func adopt(_ pairs: [(Int, String)]) throws -> Int {
        try owned { connection in
            var adopted = 0
            for (position, runID) in pairs {
                adopted += try connection.execute(
                    """
                    UPDATE batch_results SET run_id = \(runID), status = 'running'
                    WHERE batch_id = \(batchID) AND position = \(position) AND run_id IS NULL
                      AND NOT EXISTS (SELECT 1 FROM batch_results WHERE run_id = \(runID))
                    """)
            }
            return adopted
        }
    }

    func needsResult(runID: String) throws -> Bool {
        try connection.queryFirst(
            "SELECT 1 AS one FROM batch_results WHERE batch_id = \(batchID) AND run_id = \(runID) AND status = 'running'"
        ) != nil
    }

    func complete(runID: String, analysis: BatchResearchSpec.Analysis) throws {
        let technologies = try PostgresJSON(encoding: analysis.technologies)
        let evidence = try PostgresJSON(encoding: analysis.evidence)
        try owned { connection in
            let updated = try connection.execute(
                """
                UPDATE batch_results SET status = 'completed', matches = \(analysis.matches),
                       confidence = \(analysis.confidence)::numeric(4,3), technologies = \(technologies),
                       evidence = \(evidence), summary = \(analysis.summary), completed_at = now()
                WHERE batch_id = \(batchID) AND run_id = \(runID) AND status = 'running'
                """)
            if updated > 0 { try progress(on: connection) }
        }
    }

    func failRun(runID: String, message: String) throws {
        let clipped = BatchResearchSpec.clip(message, 500)
        try owned { connection in
            guard let row = try connection.queryFirst(
                """
                UPDATE batch_results SET status = 'failed', error = \(clipped), completed_at = now()
                WHERE batch_id = \(batchID) AND run_id = \(runID) AND status = 'running' RETURNING domain
                """)
            else { return }
            let domain = try row.string("domain")
            try BatchStore.append(
                BatchPayload.ErrorEvent(message: "Research for \(domain) failed: \(clipped)", recoverable: true,
                                        domain: domain),
                type: .error, to: batchID, dedupeKey: "run_failed:\(runID)", on: connection)
            try progress(on: connection)
        }
    }

    /// `evidence_progress` at each of 25, 50, 75 and 100 % of finished runs, each exactly once.
    private func progress(on connection: Connection) throws {
        guard let row = try connection.queryFirst(
            """
            SELECT count(*)::int AS total,
                   count(*) FILTER (WHERE status IN ('completed', 'failed', 'cancelled'))::int AS finished,
                   count(*) FILTER (WHERE jsonb_array_length(evidence) > 0)::int AS with_evidence
            FROM batch_results WHERE batch_id = \(batchID)
            """)
        else { return }
        let total = try row.int("total"), finished = try row.int("finished")
        let withEvidence = try row.int("with_evidence")
        for threshold in [25, 50, 75, 100] where total > 0 && finished * 100 >= threshold * total {
            try BatchStore.append(
                BatchPayload.EvidenceProgress(progress: threshold, completed: finished, total: total,
                                              domainsWithEvidence: withEvidence),
                type: .evidenceProgress, to: batchID, dedupeKey: "progress:\(threshold)", on: connection)
        }
    }

    /// A recoverable upstream problem: counted in `failed_requests` and told to viewers as `error`.
    func upstreamError(_ message: String) throws {
        try owned { connection in
            try connection.execute(
                """
                UPDATE batches SET metrics = jsonb_set(metrics, '{upstream_errors}',
                    to_jsonb(coalesce((metrics->>'upstream_errors')::int, 0) + 1)) WHERE id = \(batchID)
                """)
            try BatchStore.append(BatchPayload.ErrorEvent(message: message, recoverable: true), type: .error,
                                  to: batchID, dedupeKey: nil, on: connection)
        }
    }

    func allFinished() throws -> Bool {
        try connection.queryFirst(
            "SELECT 1 AS one FROM batch_results WHERE batch_id = \(batchID) AND status IN ('queued', 'running') LIMIT 1"
        ) == nil
    }

    /// The analysis phase and the end of the stream, in one transaction, exactly once (status check under
    /// the row lock).
    func finish() throws {
        try owned { connection in
            guard let batch = try connection.queryFirst(
                """
                SELECT status, confidence_threshold::float8 AS threshold, (metrics->>'upstream_errors')::int AS errors,
                       extract(epoch FROM now() - coalesce(started_at, created_at))::float8 AS elapsed
                FROM batches WHERE id = \(batchID)
                """), try batch.string("status") == "running"
            else { return }
            let results = try BatchStore.results(of: batchID, on: connection)
            let report = BatchReport(results: results, threshold: try batch.double("threshold"),
                                     elapsed: try batch.double("elapsed"), upstreamErrors: try batch.optionalInt("errors") ?? 0)
            try BatchStore.append(
                BatchPayload.EvidenceComplete(totalEvidence: report.summary.totalEvidence,
                                              domainsWithEvidence: report.domainsWithEvidence),
                type: .evidenceComplete, to: batchID, dedupeKey: "evidence_complete", on: connection)
            try BatchStore.append(BatchPayload.AnalysisStart(domainsToAnalyze: results.count), type: .analysisStart,
                                  to: batchID, dedupeKey: "analysis_start", on: connection)
            for (index, result) in results.enumerated() {
                try BatchStore.append(
                    BatchPayload.DomainAnalyzed(domain: result.domain, confidence: result.confidence,
                                                evidenceCount: result.evidenceCount, technologies: result.technologies,
                                                progress: index + 1, total: results.count, status: result.status,
                                                error: result.error),
                    type: .domainAnalyzed, to: batchID, dedupeKey: "analyzed:\(result.domain)", on: connection)
            }
            let seq = try BatchStore.append(
                BatchPayload.PipelineComplete(summary: report.summary, results: results,
                                              highConfidenceResults: report.highConfidence, metrics: report.metrics),
                type: .pipelineComplete, to: batchID, dedupeKey: "pipeline_complete", on: connection) ?? 0
            try BatchStore.append(BatchPayload.Completed(totalEvents: seq + 2), type: .completed, to: batchID,
                                  dedupeKey: "completed", on: connection)
            let metrics = try PostgresJSON(encoding: report.stored)
            try connection.execute(
                """
                UPDATE batches SET status = 'completed', completed_at = now(), metrics = metrics || \(metrics),
                       lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(batchID) AND status = 'running'
                """)
        }
    }

    /// Ends the batch with `stream_error` (fatal), exactly once.
    func fail(_ message: String) throws {
        try owned { connection in
            guard try connection.queryFirst(
                "SELECT 1 AS one FROM batches WHERE id = \(batchID) AND status IN ('queued', 'running')") != nil
            else { return }
            try BatchStore.append(BatchPayload.StreamError(error: message), type: .streamError, to: batchID,
                                  dedupeKey: "stream_error", on: connection)
            try connection.execute(
                """
                UPDATE batches SET status = 'failed', error = \(message), completed_at = now(),
                       lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(batchID) AND status IN ('queued', 'running')
                """)
        }
    }
}

/// Summary, metrics and high-confidence list of a batch's results (seed 001 `pipeline_complete`).
struct BatchReport {
    var summary: BatchPayload.Summary
    var metrics: BatchPayload.Metrics
    var highConfidence: [DomainResult]
    var domainsWithEvidence: Int

    init(results: [DomainResult], threshold: Double, elapsed: Double, upstreamErrors: Int) {
        let analyzed = results.filter { $0.status == "completed" }
        let failed = results.count - analyzed.count
        highConfidence = analyzed.filter { $0.confidence >= threshold - 1e-9 }.sorted { $0.confidence > $1.confidence }
        let average = analyzed.isEmpty ? 0 : analyzed.map(\.confidence).reduce(0, +) / Double(analyzed.count)
        let totalEvidence = results.map(\.evidenceCount).reduce(0, +)
        domainsWithEvidence = results.filter { $0.evidenceCount > 0 }.count
        summary = BatchPayload.Summary(
            totalDomains: results.count, domainsAnalyzed: analyzed.count, highConfidenceMatches: highConfidence.count,
            avgConfidence: (average * 100).rounded() / 100, totalEvidence: totalEvidence,
            processingTime: (max(elapsed, 0) * 10).rounded() / 10)
        let perSecond = elapsed > 0 ? Double(analyzed.count) / elapsed : 0
        metrics = BatchPayload.Metrics(queriesPerSecond: (perSecond * 100).rounded() / 100,
                                       failedRequests: failed + upstreamErrors)
    }

    /// What `batches.metrics` keeps (beside `upstream_errors`).
    var stored: [String: Double] {
        ["queries_per_second": metrics.queriesPerSecond, "failed_requests": Double(metrics.failedRequests),
         "processing_time": summary.processingTime]
    }
}
