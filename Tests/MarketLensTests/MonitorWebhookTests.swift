import Foundation
import Logging
import ParallelAPI
import Postgres
import Synchronization
import Testing
import TestSupport
import Web
@testable import MarketLens

/// `POST /webhooks/parallel` through the app's router, with the signatures upstream-sim makes, and
/// `marketlens runs resume|retry`, `email retry`, `prune` behind the CLI.
@Suite("Webhooks and run repair (PostgreSQL + upstream-sim)",
       .enabled(if: TestDatabase.isEnabled && MonitorSim.available), .serialized)
struct MonitorWebhookTests {
    static func post(_ app: MarketLensApp, body: [UInt8], id: String, timestamp: String, signature: String) throws
        -> Response
    {
        let handler = try app.makeHandler()
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("webhook-id", id)
        headers.add("webhook-timestamp", timestamp)
        headers.add("webhook-signature", signature)
        return handler.handle(Request(method: "POST", path: "/webhooks/parallel", headers: headers, body: body))
    }

    static func signed(_ body: [UInt8], id: String, at time: Date = Date()) -> (String, String) {
        let timestamp = String(Int(time.timeIntervalSince1970))
        let signature = WebhookVerifier(secret: MonitorSim.webhookSecret).signature(id: id, timestamp: timestamp, body: body)
        return (timestamp, "v1,\(signature)")
    }

    /// The webhook body the sim tried to deliver for `runID` (to an address where nobody listens), replayed as is.
    static func recordedDelivery(_ sim: MonitorSim, runID: String) throws -> (id: String, timestamp: String,
                                                                               signature: String, body: [UInt8])? {
        let deliveries = try sim.control("GET", "/webhooks")["deliveries"]?.arrayValue ?? []
        guard let delivery = deliveries.first(where: { $0["run_id"]?.stringValue == runID && $0["body"] != nil }),
              let id = delivery["webhook_id"]?.stringValue, let timestamp = delivery["webhook_timestamp"]?.stringValue,
              let signature = delivery["webhook_signature"]?.stringValue, let body = delivery["body"]?.stringValue
        else { return nil }
        return (id, timestamp, signature, Array(body.utf8))
    }

    @Test func webhookAndMonitorTogetherCompleteOnceAndMailOnce() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "pro",
                                              webhook: "http://127.0.0.1:9/webhooks/parallel")
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID)
            let monitor = env.monitor()
            defer { monitor.stop() }
            var delivery: (id: String, timestamp: String, signature: String, body: [UInt8])?
            let deadline = Date().addingTimeInterval(30)
            while delivery == nil, Date() < deadline {
                delivery = try Self.recordedDelivery(env.sim, runID: runID)
                Thread.sleep(forTimeInterval: 0.02)
            }
            let webhook = try #require(delivery)
            // The webhook arrives as the monitor sees the terminal state: both try to complete, from two threads.
            let statuses = Mutex<[Int]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                let response = try? Self.post(env.app, body: webhook.body, id: webhook.id,
                                              timestamp: webhook.timestamp, signature: webhook.signature)
                statuses.withLock { $0.append(response?.status ?? -1) }
            }
            let seen = statuses.withLock { $0 }
            #expect(seen == [200, 200])
            try env.waitUntil("completion") { try env.status(of: reportID, on: $0) == "completed" }
            try env.waitUntil("the e-mail") { connection in
                try connection.queryFirst("SELECT status FROM email_outbox")?.string("status") == "sent"
            }
            Thread.sleep(forTimeInterval: 0.5)
            let events = try env.events(of: reportID)
            #expect(events.filter { $0.type == "completed" }.count == 1)
            #expect(try env.connect().queryFirst("SELECT count(*) AS n FROM email_outbox")?.int("n") == 1)
            #expect(try env.sim.outbox().count == 1)
            #expect(try env.connect().queryFirst("SELECT count(*) AS n FROM webhook_deliveries")?.int("n") == 1)
        }
    }

    @Test func webhookSignaturesAreCheckedAndDeliveriesDeduplicated() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "lite")
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID)
            let run = try env.sim.waitForRun(runID)
            #expect(run.status == .completed)
            let body = Array(#"{"timestamp":"2026-01-10T09:21:38.002114Z","type":"task_run.status","data":{"run_id":"\#(runID)","interaction_id":"\#(runID)","status":"completed","is_active":false,"processor":"lite","metadata":{"report_id":"\#(publicID)"},"taskgroup_id":null,"error":null,"warnings":null,"created_at":"2026-01-10T09:00:00.104211Z","modified_at":"2026-01-10T09:21:37.880310Z"}}"#.utf8)

            let (timestamp, signature) = Self.signed(body, id: "whevent_test_1")
            let bad = try Self.post(env.app, body: body, id: "whevent_test_1", timestamp: timestamp,
                                    signature: "v1,bm90IHRoZSBzaWduYXR1cmU=")
            #expect(bad.status == 401)
            let (staleTime, staleSignature) = Self.signed(body, id: "whevent_test_1", at: Date().addingTimeInterval(-1000))
            #expect(try Self.post(env.app, body: body, id: "whevent_test_1", timestamp: staleTime,
                                  signature: staleSignature).status == 400)
            var tampered = body
            tampered[tampered.count - 3] = UInt8(ascii: "X")
            #expect(try Self.post(env.app, body: tampered, id: "whevent_test_1", timestamp: timestamp,
                                  signature: signature).status == 401)
            #expect(try env.status(of: reportID, on: env.connect()) == "queued", "a refused webhook changed the report")

            let good = try Self.post(env.app, body: body, id: "whevent_test_1", timestamp: timestamp,
                                     signature: "v1,b2xkIHNlY3JldA== \(signature)")
            #expect(good.status == 200)
            #expect(try env.status(of: reportID, on: env.connect()) == "completed")
            let again = try Self.post(env.app, body: body, id: "whevent_test_1", timestamp: timestamp, signature: signature)
            #expect(again.status == 200)
            #expect(try env.events(of: reportID).filter { $0.type == "completed" }.count == 1)
            #expect(try env.connect().queryFirst("SELECT count(*) AS n FROM email_outbox")?.int("n") == 1)
        }
    }

    @Test func webhooksAreOffWithoutASecret() throws {
        try MonitorEnvironment.with(["PARALLEL_WEBHOOK_SECRET": ""]) { env in
            let body = Array("{}".utf8)
            let (timestamp, signature) = Self.signed(body, id: "whevent_x")
            let response = try Self.post(env.app, body: body, id: "whevent_x", timestamp: timestamp, signature: signature)
            #expect(response.status == 404)
        }
    }

    @Test func resumeFinishesAnOrphanedRunWithoutAMonitor() throws {
        try MonitorEnvironment.with { env in
            let completedID = ReportStore.newPublicID()
            let completedRun = try env.sim.createRun(publicID: completedID, processor: "lite")
            let failedID = ReportStore.newPublicID()
            let failedRun = try env.sim.createRun(publicID: failedID, processor: "lite", extra: ["sim_fault": "run_failed"])
            let (completedReport, _) = try env.insertReport(runID: completedRun, publicID: completedID, status: "running")
            let (failedReport, _) = try env.insertReport(runID: failedRun, publicID: failedID, status: "running")
            // A live lease elsewhere keeps a report out of a plain resume.
            let leasedID = ReportStore.newPublicID()
            let leasedRun = try env.sim.createRun(publicID: leasedID, processor: "lite")
            let (leasedReport, _) = try env.insertReport(runID: leasedRun, publicID: leasedID)
            try env.connect().execute(
                "UPDATE reports SET lease_owner = 'alive:1:x', lease_expires_at = now() + interval '1 hour' WHERE id = \(leasedReport)")

            let results = try RunMaintenance.resume(
                publicID: nil, wait: 20, configuration: env.configuration, completion: env.app.reportCompletion,
                logger: Logger(label: "test"), on: env.connect())
            #expect(Set(results.map(\.publicID)) == [completedID, failedID])
            #expect(results.first { $0.publicID == completedID }?.result == "completed")
            #expect(results.first { $0.publicID == failedID }?.result == "failed")
            let connection = try env.connect()
            #expect(try env.status(of: completedReport, on: connection) == "completed")
            #expect(try env.status(of: failedReport, on: connection) == "failed")
            #expect(try env.status(of: leasedReport, on: connection) == "queued")
            #expect(try env.events(of: completedReport).last?.type == "completed")
            // The ready e-mail of one, the failure e-mail of the other.
            #expect(try connection.query("SELECT kind FROM email_outbox ORDER BY kind").map { try $0.string("kind") }
                    == ["report_failed", "report_ready"])

            // Resuming again changes nothing.
            let again = try RunMaintenance.resume(
                publicID: completedID, wait: 0, configuration: env.configuration, completion: env.app.reportCompletion,
                logger: Logger(label: "test"), on: connection)
            #expect(again.isEmpty)
        }
    }

    @Test func retryStartsAFailedReportAgainAsANewReport() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "lite", extra: ["sim_fault": "run_failed"])
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID, status: "running")
            _ = try env.sim.waitForRun(runID)
            _ = try RunMaintenance.resume(publicID: publicID, wait: 0, configuration: env.configuration,
                                          completion: env.app.reportCompletion, logger: Logger(label: "test"),
                                          on: env.connect())
            #expect(try env.status(of: reportID, on: env.connect()) == "failed")
            let newID = try RunMaintenance.retry(publicID: publicID, configuration: env.configuration,
                                                 logger: Logger(label: "test"), on: env.connect())
            let fresh = try #require(try ReportStore.find(publicID: newID, on: env.connect()))
            #expect(fresh.status == .queued && fresh.taskRunID != nil && fresh.hasEmail)
            #expect(fresh.industry == "Cold-chain logistics" && fresh.region == "EU")
            let upstream = try env.sim.client().retrieveRun(try #require(fresh.taskRunID))
            #expect(upstream.metadata?["report_id"]?.stringValue == newID)
            #expect(throws: RunMaintenanceError.notRetryable(.queued)) {
                try RunMaintenance.retry(publicID: newID, configuration: env.configuration,
                                         logger: Logger(label: "test"), on: env.connect())
            }
        }
    }

    @Test func uncertainCreateIsRetriedOnceAndFollowed() throws {
        try MonitorEnvironment.with { env in
            let (reportID, publicID) = try env.insertReport(runID: nil, uncertain: true)
            let monitor = env.monitor()
            defer { monitor.stop() }
            try env.waitUntil("completion of the retried create") { try env.status(of: reportID, on: $0) == "completed" }
            let creates = try env.sim.requests(path: "/v1/tasks/runs").filter { $0.method == "POST" }
            #expect(creates.count == 1)
            let report = try #require(try ReportStore.find(publicID: publicID, on: env.connect()))
            #expect(!report.createUncertain)
        }
    }

    @Test func emailRetrySendsWhatWasQueuedWhileMailWasOff() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "lite")
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID, status: "running")
            let run = try env.sim.waitForRun(runID)
            let result = try env.sim.client().result(runID: runID, timeout: 5)
            let connection = try env.connect()
            _ = try env.app.reportCompletion.finish(reportID: reportID, run: run, output: result.output, on: connection)
            try connection.execute("UPDATE email_outbox SET status = 'failed', attempts = 12, last_error = 'x'")
            let sender = try #require(try EmailOutbox.Sender(configuration: env.configuration, logger: Logger(label: "t")))
            #expect(try sender.sendDue(limit: 5, on: connection).isEmpty)
            #expect(try EmailOutbox.makeDue(all: false, on: connection) == 0)
            #expect(try EmailOutbox.makeDue(all: true, on: connection) == 1)
            #expect(try sender.sendDue(limit: 5, on: connection) == [.sent])
            #expect(try env.sim.outbox().count == 1)
        }
    }

    @Test func pruneDeletesOnlyOldDataOfFinishedReports() throws {
        try MonitorEnvironment.with { env in
            let connection = try env.connect()
            let (finished, _) = try env.insertReport(runID: nil)
            let (active, _) = try env.insertReport(runID: nil)
            try connection.execute("UPDATE reports SET status = 'failed', error = 'x' WHERE id = \(finished)")
            for report in [finished, active] {
                try ReportEventLog.append(.error(.init(message: "m", recoverable: true)), to: report, dedupeKey: nil,
                                          on: connection)
            }
            try connection.execute("UPDATE report_events SET created_at = now() - interval '100 days'")
            try connection.execute("INSERT INTO rate_limits (bucket, window_start, count) VALUES ('b', now() - interval '2 days', 1), ('c', now(), 1)")
            let counts = try Pruning.prune(eventsOlderThan: 90 * 86_400, rateLimits: true, validationCache: false,
                                           webhookDeliveries: false, on: connection)
            #expect(counts.events == 1 && counts.rateLimits == 1)
            #expect(try env.events(of: active).count == 1)
        }
    }
}
