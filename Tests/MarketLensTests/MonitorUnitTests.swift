import Foundation
import ParallelAPI
import Testing
@testable import MarketLens

@Suite("Monitoring without I/O: naming, event mapping, webhook signatures, e-mail text")
struct MonitorUnitTests {
    @Test func titleFollowsTheProductRule() {
        #expect(ReportNaming.title(industry: "cold-chain logistics", region: "EU")
                == "Cold-chain logistics Market Research Report – EU")
        #expect(ReportNaming.title(industry: "Fintech", region: "  ") == "Fintech Market Research Report")
    }

    @Test func slugsAreTransliteratedLowerCaseAndBounded() {
        #expect(ReportNaming.slugBase("Café Société Market Research Report – Île-de-France")
                == "cafe-societe-market-research-report-ile-de-france")
        #expect(ReportNaming.slugBase("Москва Market") == "moskva-market")
        #expect(ReportNaming.slugBase("🚀🚀") == "report")
        let long = ReportNaming.slugBase(String(repeating: "semiconductor equipment ", count: 10))
        #expect(long.count <= 80 && !long.hasSuffix("-") && !long.contains("--"))
        let slug = ReportNaming.slug(base: "fintech")
        #expect(slug.range(of: #"^fintech-[a-z0-9]{6}$"#, options: .regularExpression) != nil)
        #expect(ReportNaming.slug(base: "fintech") != slug)
    }

    @Test func upstreamEventsMapToOurVocabularyWithStableKeys() throws {
        let message = RunEvent.progressMessage(ProgressMessage(kind: "tool_call", message: "Searching \u{7}filings",
                                                               timestamp: "2026-01-10T09:00:04.512003Z"))
        let mapped = try #require(RunEventMapping.map(message))
        #expect(mapped.event == .message(.init(kind: "tool_call", text: "Searching filings",
                                               timestamp: "2026-01-10T09:00:04.512003Z")))
        #expect(mapped.dedupeKey.hasPrefix("msg:tool_call:2026-01-10T09:00:04.512003Z:"))
        #expect(RunEventMapping.map(message)?.dedupeKey == mapped.dedupeKey)

        let stats = RunEvent.progressStats(ProgressStats(
            progressMeter: 37.5, numSourcesConsidered: 223, numSourcesRead: 22,
            sourcesReadSample: ["https://a.example/1", "javascript:alert(1)", "ftp://x/y", "http://b.example/2"]))
        let progress = try #require(RunEventMapping.map(stats))
        #expect(progress.event == .progress(.init(progress: 37.5, sourcesConsidered: 223, sourcesRead: 22,
                                                  recentSources: ["https://a.example/1", "http://b.example/2"])))
        #expect(progress.dedupeKey == "stats:37.5:223:22")

        let running = RunEvent.state(RunStateEvent(run: TaskRun(runID: "trun_1", status: .running)))
        #expect(RunEventMapping.map(running)?.dedupeKey == "state:running")
        #expect(RunEventMapping.map(.state(RunStateEvent(run: TaskRun(runID: "trun_1", status: .completed)))) == nil)
        let error = RunEventMapping.map(.error(UpstreamError(refID: "r1", message: "Upstream fetch failed")))
        #expect(error?.event == .error(.init(message: "Upstream fetch failed", recoverable: true)))
    }

    @Test func webhookSignatureMatchesTheDocumentedVector() throws {
        let body = Array(#"{"timestamp":"2026-01-01T00:00:00.000000Z","type":"task_run.status","data":{"run_id":"trun_00000000000000000000000000000001","status":"completed"}}"#.utf8)
        #expect(body.count == 147)
        let verifier = WebhookVerifier(secret: "sim_webhook_secret_123")
        #expect(verifier.signature(id: "whevent_sim_0001", timestamp: "1767225600", body: body)
                == "6JWFm7BwffAvhUaVsNnW/iq7Dbz98Btjs7+OFflt9Io=")
        let at = Date(timeIntervalSince1970: 1_767_225_700)
        try verifier.verify(id: "whevent_sim_0001", timestamp: "1767225600",
                            signature: "v1,AAAA v1,6JWFm7BwffAvhUaVsNnW/iq7Dbz98Btjs7+OFflt9Io=", body: body, now: at)
        #expect(throws: WebhookVerifier.Failure.badSignature) {
            try verifier.verify(id: "whevent_sim_0001", timestamp: "1767225600", signature: "v1,AAAA", body: body, now: at)
        }
        #expect(throws: WebhookVerifier.Failure.staleTimestamp) {
            try verifier.verify(id: "whevent_sim_0001", timestamp: "1767225600",
                                signature: "v1,6JWFm7BwffAvhUaVsNnW/iq7Dbz98Btjs7+OFflt9Io=", body: body,
                                now: at.addingTimeInterval(400))
        }
    }

    @Test func emailSummaryIsTheOpeningProseWithoutMarkup() {
        let markdown = "# Title\n\n## Market size\n\nThe **EU** market reached €52bn [1] in [2025](https://x.example).\nIt grows.\n\n| a | b |\n"
        #expect(ReportEmail.summary(of: markdown) == "The EU market reached €52bn in 2025. It grows.")
    }

    @Test func emailSummaryDropsEveryCitationMarkerForm() {
        let markdown = "## Overview\n\nSales grew 8% [1–3], led by Asia [2; 5] and Europe [1, 4][6].\n"
        #expect(ReportEmail.summary(of: markdown) == "Sales grew 8%, led by Asia and Europe.")
    }

    @Test func emailBackoffGrowsAndIsCapped() {
        #expect(EmailOutbox.backoff(attempt: 1, base: 30, random: 1) == 30)
        #expect(EmailOutbox.backoff(attempt: 3, base: 30, random: 1) == 120)
        #expect(EmailOutbox.backoff(attempt: 40, base: 30, random: 1) == 3600)
        #expect(EmailOutbox.backoff(attempt: 2, base: 30, random: 0) == 30)
    }

    @Test func configurationReadsMonitorKnobsAndOfflineResend() throws {
        let configuration = try AppConfiguration(environment: [
            "MARKETLENS_LEASE_SECONDS": "2.5", "MARKETLENS_POLL_SECONDS": "0.2", "RESEND_BASE_URL": "http://127.0.0.1:9",
        ])
        #expect(configuration.monitor.leaseSeconds == 2.5)
        #expect(configuration.monitor.pollSeconds == 0.2)
        #expect(configuration.isEmailEnabled)
        #expect(throws: ConfigurationError.self) {
            try AppConfiguration(environment: ["MARKETLENS_LEASE_SECONDS": "soon"])
        }
        let online = try AppConfiguration(environment: ["PARALLEL_API_KEY": "k", "RESEND_BASE_URL": "http://127.0.0.1:9"])
        #expect(!online.isEmailEnabled)
        #expect(Pruning.parseAge("90d") == 7_776_000.0)
        #expect(Pruning.parseAge("12h") == 43_200.0)
        #expect(Pruning.parseAge("soon") == nil)
    }
}
