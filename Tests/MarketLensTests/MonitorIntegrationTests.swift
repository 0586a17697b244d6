import Foundation
import Logging
import ParallelAPI
import Postgres
import Testing
import TestSupport
@testable import MarketLens

/// The monitor against real PostgreSQL and upstream-sim (time scale 0.02): runs followed to their end, exactly
/// one completion and one e-mail whatever breaks on the way.
@Suite("Report monitor (PostgreSQL + upstream-sim)", .enabled(if: TestDatabase.isEnabled && MonitorSim.available),
       .serialized)
struct MonitorIntegrationTests {
    /// The events are numbered 1…n without gaps, no upstream event is stored twice, and the log ends with one
    /// terminal event.
    static func expectWellFormedLog(_ events: [StoredReportEvent], terminal: String) throws {
        try #require(!events.isEmpty)
        #expect(events.map(\.seq) == Array(1...events.count))
        let messages = events.filter { $0.type == "message" }.map(\.payloadJSON)
        #expect(Set(messages).count == messages.count, "a progress message was stored twice")
        let progress = events.filter { $0.type == "progress" }.map(\.payloadJSON)
        #expect(Set(progress).count == progress.count, "a progress snapshot was stored twice")
        #expect(events.filter { $0.type == "completed" || $0.type == "failed" }.count == 1)
        #expect(events.last?.type == terminal)
    }

    /// The messages upstream holds for a finished run (a fresh stream replays the whole trace).
    static func upstreamMessages(_ sim: MonitorSim, runID: String) throws -> Set<String> {
        var texts: Set<String> = []
        _ = try sim.client().runEvents(runID: runID) { event in
            if case .progressMessage(let message) = event { texts.insert(message.message) }
            return true
        }
        return texts
    }

    @Test func followsARunAcrossReconnectsToOneCompletionAndOneEmail() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            // Every connection is cut after 12 simulated seconds, and the first one drops after 6 events.
            let runID = try env.sim.createRun(publicID: publicID, extra: ["sim_fault": "early_close_570;after=12"])
            try env.sim.fault("events", "stream_drop;after=6", count: 1)
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID)
            let monitor = env.monitor()
            defer { monitor.stop() }
            try env.waitUntil("completion") { try env.status(of: reportID, on: $0) == "completed" }
            let connection = try env.connect()
            let report = try #require(try ReportStore.find(publicID: publicID, on: connection))
            #expect(report.title == "Cold-chain logistics Market Research Report – EU")
            let slug = try #require(report.slug)
            #expect(slug.range(of: #"^cold-chain-logistics-market-research-report-eu-[a-z0-9]{6}$"#,
                               options: .regularExpression) != nil)
            #expect((report.content ?? "").count > 200)
            let basis = try #require(report.basis).text
            #expect(basis.contains("\"citations\"") && basis.contains("\"title\""))
            #expect(report.completedAt != nil && report.startedAt != nil)

            let events = try env.events(of: reportID)
            try Self.expectWellFormedLog(events, terminal: "completed")
            #expect(events.contains { $0.type == "status" && $0.payloadJSON.contains("running") })
            #expect(events.contains { $0.type == "progress" })
            let completed = try #require(events.last)
            #expect(completed.payloadJSON.contains("https://marketlens.test/r/\(slug)"))
            // Every reasoning message upstream holds was stored, once, though the stream broke on the way.
            let stored = Set(try events.filter { $0.type == "message" }.map {
                try JSONDecoder().decode(ReportEvent.MessagePayload.self, from: Data($0.payloadJSON.utf8)).text
            })
            #expect(stored == (try Self.upstreamMessages(env.sim, runID: runID)))
            #expect(try env.sim.requests(path: "/v1/tasks/runs/\(runID)/events").count >= 2)

            try env.waitUntil("the e-mail") { connection in
                try connection.queryFirst("SELECT status FROM email_outbox")?.string("status") == "sent"
            }
            let mails = try env.sim.outbox()
            #expect(mails.count == 1)
            // Sent in a batch: the batch's key on the request, the message's own key in its reference header.
            #expect(mails.first?["idempotency_key"]?.stringValue?.hasPrefix("email-batch/") == true)
            #expect(mails.first?["email"]?["headers"]?["X-Entity-Ref-ID"]?.stringValue == "report-ready/\(publicID)")
            let html = mails.first?["email"]?["html"]?.stringValue ?? ""
            #expect(html.contains("https://marketlens.test/r/\(slug)"))
        }
    }

    @Test func aFailedRunFailsTheReportWithTheReason() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "pro", extra: ["sim_fault": "run_failed"])
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID)
            let monitor = env.monitor()
            defer { monitor.stop() }
            try env.waitUntil("failure") { try env.status(of: reportID, on: $0) == "failed" }
            let report = try #require(try ReportStore.find(publicID: publicID, on: env.connect()))
            let upstream = try env.sim.client().retrieveRun(runID)
            #expect(report.error == upstream.error?.message)
            #expect(!(report.error ?? "").isEmpty)
            let events = try env.events(of: reportID)
            try Self.expectWellFormedLog(events, terminal: "failed")
            // Its owner hears about it once, with the reason.
            let mails = try env.connect().query("SELECT kind, idempotency_key, text_body FROM email_outbox")
            #expect(mails.count == 1)
            #expect(try mails.first?.string("kind") == "report_failed")
            #expect(try mails.first?.string("idempotency_key") == "report-failed/\(publicID)")
            #expect(try mails.first?.string("text_body").contains(report.error ?? "-") == true)
        }
    }

    @Test func aStalledStreamFallsBackToPolling() throws {
        try MonitorEnvironment.with(["MARKETLENS_STREAM_IDLE_SECONDS": "0.3", "MARKETLENS_STREAM_FAILURES": "0"]) { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "pro",
                                              extra: ["sim_fault": "stream_stall;after=1;seconds=60", "sim_duration": 100])
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID, email: nil)
            let monitor = env.monitor()
            defer { monitor.stop() }
            try env.waitUntil("completion by polling") { try env.status(of: reportID, on: $0) == "completed" }
            // Polling means GETs of the run itself besides the event stream.
            let polls = try env.sim.requests(path: "/v1/tasks/runs/\(runID)").filter { $0.path == "/v1/tasks/runs/\(runID)" }
            #expect(polls.count >= 3)
            // With failures tolerated set to 0 the stream is not tried again.
            #expect(try env.sim.requests(path: "/v1/tasks/runs/\(runID)/events").count == 1)
            try Self.expectWellFormedLog(try env.events(of: reportID), terminal: "completed")
        }
    }

    @Test func twoMonitorsNeverFollowTheSameRun() throws {
        try MonitorEnvironment.with(["MARKETLENS_MAX_RUNS": "2"]) { env in
            var reports: [Int64] = []
            for _ in 0..<4 {
                let publicID = ReportStore.newPublicID()
                let runID = try env.sim.createRun(publicID: publicID, processor: "pro")
                reports.append(try env.insertReport(runID: runID, publicID: publicID).0)
            }
            let capture = LogCapture()
            let first = env.monitor(ownerID: "host:1:a", logger: capture.logger())
            let second = env.monitor(ownerID: "host:2:b", logger: capture.logger())
            defer { first.stop(); second.stop() }
            try env.waitUntil("all completions") { connection in
                try reports.allSatisfy { try env.status(of: $0, on: connection) == "completed" }
            }
            var followers: [String: Set<String>] = [:]
            for entry in capture.all where entry.message == "Following run" {
                followers[entry.metadata["report_id"] ?? "?", default: []].insert(entry.metadata["lease_owner"] ?? "?")
            }
            #expect(followers.count == 4)
            #expect(followers.values.allSatisfy { $0.count == 1 }, "a run was followed by both monitors: \(followers)")
            for report in reports {
                try Self.expectWellFormedLog(try env.events(of: report), terminal: "completed")
            }
            // E-mails leave on the monitors' next pass after completion: wait for them, then check none doubled.
            try env.waitUntil("all e-mails sent") { _ in try env.sim.outbox().count >= 4 }
            #expect(try env.sim.outbox().count == 4)
        }
    }

    @Test func aStoppedMonitorsRunIsFinishedByAnother() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "ultra2x", extra: ["sim_duration": 200])
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID)
            let first = env.monitor(ownerID: "host:1:first")
            try env.waitUntil("some progress") { connection in
                try connection.queryFirst(
                    "SELECT count(*) AS n FROM report_events WHERE report_id = \(reportID) AND type = 'message'"
                )?.int("n") ?? 0 >= 2
            }
            first.stop()
            #expect(first.hasReturned)
            let lease = try env.connect().queryFirst("SELECT status, lease_owner FROM reports WHERE id = \(reportID)")
            #expect(try lease?.string("status") == "running")
            #expect(try lease?.optionalString("lease_owner") == nil, "the lease was not released on shutdown")

            let second = env.monitor(ownerID: "host:2:second")
            defer { second.stop() }
            try env.waitUntil("completion by the second monitor") { try env.status(of: reportID, on: $0) == "completed" }
            let events = try env.events(of: reportID)
            try Self.expectWellFormedLog(events, terminal: "completed")
            let stored = Set(try events.filter { $0.type == "message" }.map {
                try JSONDecoder().decode(ReportEvent.MessagePayload.self, from: Data($0.payloadJSON.utf8)).text
            })
            #expect(stored == (try Self.upstreamMessages(env.sim, runID: runID)))
        }
    }

    @Test func anExpiredLeaseIsTakenOver() throws {
        try MonitorEnvironment.with { env in
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "pro")
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID, email: nil)
            // A crashed process's lease: held by someone else, expiring in a second.
            try env.connect().execute(
                "UPDATE reports SET lease_owner = 'dead:1:x', lease_expires_at = now() + interval '1 second' WHERE id = \(reportID)")
            let monitor = env.monitor()
            defer { monitor.stop() }
            try env.waitUntil("completion after expiry") { try env.status(of: reportID, on: $0) == "completed" }
        }
    }

    @Test func resendOutageStillSendsTheMailExactlyOnce() throws {
        try MonitorEnvironment.with { env in
            try env.sim.fault("resend", "503", count: 3)
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "pro")
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID)
            let monitor = env.monitor()
            defer { monitor.stop() }
            try env.waitUntil("completion") { try env.status(of: reportID, on: $0) == "completed" }
            try env.waitUntil("the e-mail") { connection in
                try connection.queryFirst("SELECT status FROM email_outbox")?.string("status") == "sent"
            }
            let row = try #require(try env.connect().queryFirst("SELECT attempts, provider_id FROM email_outbox"))
            #expect(try row.int("attempts") == 4)
            let mails = try env.sim.outbox()
            #expect(mails.count == 1)
            #expect(mails.first?["id"]?.stringValue == (try row.optionalString("provider_id")))
        }
    }

    @Test func emailOffLeavesMessagesQueued() throws {
        try MonitorEnvironment.with(["RESEND_BASE_URL": ""]) { env in
            #expect(!env.configuration.isEmailEnabled)
            let publicID = ReportStore.newPublicID()
            let runID = try env.sim.createRun(publicID: publicID, processor: "lite")
            let (reportID, _) = try env.insertReport(runID: runID, publicID: publicID)
            let monitor = env.monitor()
            try env.waitUntil("completion") { try env.status(of: reportID, on: $0) == "completed" }
            monitor.stop()
            let row = try #require(try env.connect().queryFirst("SELECT status, attempts FROM email_outbox"))
            #expect(try row.string("status") == "pending")
            #expect(try row.int("attempts") == 0)
            #expect(try env.sim.outbox().isEmpty)
        }
    }
}
