import Foundation
import Logging
import Postgres
import Testing
import TestSupport
import Web
@testable import MarketLens

@Suite(.enabled(if: TestDatabase.isEnabled, "needs TEST_DATABASE_URL"))
struct BatchLedgerTests {
    let request = BatchRequest(researchGoal: "Find fintech companies using AI", companyDomains: ["stripe.com", "paypal.com"],
                               searchDepth: .quick, maxParallelSearches: 5, confidenceThreshold: 0.7)

    func settings(heartbeat: Duration = .seconds(30)) -> BatchSettings {
        var settings = BatchSettings()
        settings.heartbeatInterval = heartbeat
        return settings
    }

    /// The batch's event stream as a client reads it from an in-process worker (the live writer serves it).
    func stream(_ batch: BatchRecord, _ harness: LiveHarness, resumeAfter: Int? = nil,
                until: ((SSEClient) -> Bool)? = nil) throws -> SSEClient {
        let client = try harness.open(batch.publicID, lastEventID: resumeAfter,
                                      path: "/research/batch/\(batch.publicID)/events")
        if let until { try client.read(until: until) } else { try client.readToEnd() }
        return client
    }

    @Test func idleStreamSendsHeartbeatsWithTheLastIDUntilTheClientLeaves() throws {
        try LiveHarness.with(batch: settings(heartbeat: .milliseconds(150))) { harness in
            let connection = try Connection(url: harness.databaseURL)
            let batch = try BatchStore.create(request, on: connection)
            let started = ContinuousClock.now
            let client = try stream(batch, harness) { $0.events.filter { $0.event == "heartbeat" }.count >= 3 }
            #expect(ContinuousClock.now - started >= .milliseconds(400))
            #expect(client.rawBody.hasPrefix("id: 0\nretry: 1000\nevent: connected\ndata: {\"message\":\"Research pipeline connected\""))
            let events = client.events.map { (id: $0.id ?? "", event: $0.event ?? "", data: $0.data) }
            #expect(events.map(\.event) == ["connected", "pipeline_start", "heartbeat", "heartbeat", "heartbeat"])
            #expect(events.map(\.id) == ["0", "1", "1", "1", "1"])
            #expect(events[2].data.hasPrefix("{\"timestamp\":") && events[2].data.hasSuffix("\"message\":\"Connection alive\"}"))
        }
    }

    @Test func claimsRecordsResultsAndFinishesExactlyOnce() throws {
        try LiveHarness.with { harness in
            let url = harness.databaseURL
            let connection = try Connection(url: url)
            let batch = try BatchStore.create(request, on: connection)
            var configuration = try AppConfiguration(environment: ["DATABASE_URL": url])
            configuration.parallelAPIKey = "unused"
            let monitor = BatchMonitor(configuration: configuration, settings: settings(), logger: Logger(label: "test"))
            #expect(try monitor.claim(owner: "a", on: connection) == batch.id)
            #expect(try monitor.claim(owner: "b", on: connection) == nil, "a leased batch is not claimed twice")

            let intruder = BatchLedger(batchID: batch.id, owner: "b", connection: connection)
            #expect(throws: BatchLedger.LeaseLost.self) { try intruder.setCursor("1") }

            let ledger = BatchLedger(batchID: batch.id, owner: "a", connection: connection)
            #expect(try ledger.pendingDomains(limit: 5).map(\.domain) == ["stripe.com", "paypal.com"])
            try ledger.assign(runIDs: ["trun_1", "trun_2"], to: [0, 1])
            #expect(try ledger.activeCount() == 2 && !(try ledger.hasUnassigned()))
            try ledger.complete(runID: "trun_1", analysis: .init(
                matches: true, confidence: 0.92, technologies: ["python"],
                evidence: [Evidence(url: "https://stripe.com/radar", title: "Radar", excerpt: nil)], summary: "Yes."))
            try ledger.complete(runID: "trun_1", analysis: .init(matches: false, confidence: 0.1, technologies: [],
                                                                 evidence: [], summary: nil))
            try ledger.upstreamError("Lost the connection to Parallel; resuming from the last event.")
            try ledger.failRun(runID: "trun_2", message: "Task execution failed")
            #expect(try ledger.allFinished())
            try ledger.finish()
            // Finishing hands the lease back, so a second finish (or any late write) cannot happen.
            #expect(throws: BatchLedger.LeaseLost.self) { try ledger.finish() }

            let stored = try BatchStore.events(of: batch.id, after: 0, on: connection)
            #expect(stored.map(\.type) == [
                "pipeline_start", "evidence_progress", "evidence_progress", "error", "error", "evidence_progress",
                "evidence_progress", "evidence_complete", "analysis_start", "domain_analyzed", "domain_analyzed",
                "pipeline_complete", "completed",
            ])
            #expect(stored.map(\.seq) == Array(1...13))
            let complete = try #require(try JSONSerialization.jsonObject(with: Data(stored[11].data.utf8)) as? [String: Any])
            let summary = try #require(complete["summary"] as? [String: Any])
            #expect(summary["domains_analyzed"] as? Int == 1 && summary["high_confidence_matches"] as? Int == 1)
            #expect((complete["metrics"] as? [String: Any])?["failed_requests"] as? Int == 2)
            #expect(stored[12].data.contains("\"total_events\":14"))
            #expect(try BatchStore.find(publicID: batch.publicID, on: connection)?.status == "completed")
            let results = try BatchStore.results(of: batch.id, on: connection)
            #expect(results.map(\.status) == ["completed", "failed"] && results[0].confidence == 0.92)

            // A finished stream replays everything, or resumes exactly after Last-Event-ID, then ends.
            let full = try stream(batch, harness)
            #expect(full.events.map { $0.id ?? "" } == (0...13).map(String.init))
            let resumed = try stream(batch, harness, resumeAfter: 9)
            #expect(resumed.events.map { $0.id ?? "" } == ["9", "10", "11", "12", "13"])
            #expect(resumed.events.dropFirst().map(\.data) == full.events.suffix(4).map(\.data))
        }
    }

    @Test func failingABatchEndsTheStreamWithStreamError() throws {
        try LiveHarness.with { harness in
            let connection = try Connection(url: harness.databaseURL)
            let batch = try BatchStore.create(request, on: connection)
            try connection.execute("UPDATE batches SET lease_owner = 'a', lease_expires_at = now() + interval '1 minute', status = 'running' WHERE id = \(batch.id)")
            let ledger = BatchLedger(batchID: batch.id, owner: "a", connection: connection)
            try ledger.fail("Parallel refused the request (401): Invalid API key")
            #expect(throws: BatchLedger.LeaseLost.self) { try ledger.fail("again") }
            let writer = try stream(batch, harness)
            #expect(writer.events.map { $0.event ?? "" } == ["connected", "pipeline_start", "stream_error"])
            #expect(writer.events[2].data.hasPrefix("{\"message\":\"Stream ended due to error\",\"error\":\"Parallel refused the request (401): Invalid API key\""))
            #expect(try BatchStore.find(publicID: batch.publicID, on: connection)?.status == "failed")
        }
    }
}
