import Foundation
@testable import MarketLens
import Postgres
import Testing
import TestSupport

/// `GET /reports/{id}`: what a visitor sees for a running, completed, failed or unknown report.
@Suite(.enabled(if: TestDatabase.isEnabled), .serialized)
struct LivePageTests {
    private func get(_ harness: LiveHarness, _ path: String) throws -> (status: Int, headers: [(String, String)], body: String) {
        let response = try FastCGIClient.send(
            socketPath: harness.socketPath, params: FastCGIClient.params(uri: path, headers: [("Accept", "text/html")]))
        return (response.status, response.headers, String(decoding: response.body, as: UTF8.self))
    }

    @Test func aRunningReportShowsItsProgressMessagesAndSourcesEscaped() throws {
        try LiveHarness.with { harness in
            let (reportID, publicID) = try harness.makeReport()
            let connection = try Connection(url: harness.databaseURL)
            try ReportEventLog.append(
                .message(.init(kind: "search", text: "Reading <script>alert(1)</script> filings", timestamp: nil)),
                to: reportID, dedupeKey: nil, on: connection)
            try ReportEventLog.append(
                .progress(.init(progress: 42, sourcesConsidered: 120, sourcesRead: 17,
                                recentSources: ["https://example.com/market", "javascript:alert(1)"])),
                to: reportID, dedupeKey: nil, on: connection)
            let page = try get(harness, "/reports/\(publicID)")
            #expect(page.status == 200)
            #expect(page.body.contains(#"<progress id="live-bar" class="progress" max="100" value="42">"#))
            #expect(page.body.contains(">120<") && page.body.contains(">17<"))
            #expect(page.body.contains("Reading &lt;script&gt;alert(1)&lt;/script&gt; filings"))
            #expect(!page.body.contains("<script>alert"))
            #expect(page.body.contains(#"href="https://example.com/market""#))
            #expect(!page.body.contains("javascript:alert"))
            #expect(page.body.contains("events?last_event_id=2"))
            #expect(page.body.contains(#"<noscript><meta http-equiv="refresh" content="10"></noscript>"#))
            #expect(page.body.contains(#"aria-live="polite""#))
            #expect(page.body.contains("/static/js/live.js"))
        }
    }

    @Test func aCompletedReportRedirectsToItsPage() throws {
        try LiveHarness.with { harness in
            let (_, publicID) = try harness.makeReport(status: "completed")
            let page = try get(harness, "/reports/\(publicID)")
            #expect(page.status == 303)
            let location = FastCGIClient.header("Location", in: page.headers) ?? ""
            #expect(location.hasPrefix("/r/cold-chain-"))
        }
    }

    @Test func aFailedReportSaysWhyAndLeavesTheRetryToItsOwner() throws {
        try LiveHarness.with { harness in
            let (_, publicID) = try harness.makeReport(status: "failed")
            let page = try get(harness, "/reports/\(publicID)")
            #expect(page.status == 200)
            #expect(page.body.contains("The research run failed upstream."))
            #expect(!page.body.contains("/retry"))
            #expect(page.body.contains("manage link"))
            #expect(!page.body.contains("live.js"))
        }
    }

    @Test func anUnknownReportIsNotFound() throws {
        try LiveHarness.with { harness in
            let unknown = try get(harness, "/reports/rpt_nothinghere")
            #expect(unknown.status == 404)
            let odd = try get(harness, "/reports/%3Cscript%3E")
            #expect(odd.status == 404)
        }
    }
}
