import Foundation
import Postgres
import Testing
import TestSupport
import Web
@testable import MarketLens

/// `/r/{slug}`, `/r/{slug}.md` and `/api/v1/reports/{id}` through the app's router, against real PostgreSQL.
@Suite(.enabled(if: TestDatabase.isEnabled, "needs TEST_DATABASE_URL"))
struct ReaderPageTests {
    @Test func reportPageRendersMarkdownTocCitationsAndReferences() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try ReaderFixtures.insertCompleted(on: connection)
            let app = try ReaderFixtures.app(databaseURL: url)
            let (response, html) = try ReaderFixtures.get(app, "/r/\(report.slug)")
            #expect(response.status == 200)
            #expect(response.headers["Cache-Control"] == "public, max-age=300")
            #expect(response.headers["ETag"]?.hasPrefix("\"") == true)
            #expect(html.contains(#"<h1 id="report-title">Cold-chain logistics Market Research Report</h1>"#))
            #expect(html.contains(#"<h2 id="executive-summary">Executive Summary</h2>"#))
            #expect(html.contains(##"<a href="#executive-summary">Executive Summary</a>"##), "table of contents")
            #expect(html.contains(##"<a href="#ref-1" class="cite">[1]</a>"##))
            #expect(html.contains("<table>") && html.contains("<td>2025</td>"))
            #expect(html.contains(#"<li id="ref-1" value="1">"#))
            #expect(html.contains(#"<a href="https://www.example-industry.org/report-2025" rel="nofollow noopener noreferrer">Cold chain outlook 2025</a>"#))
            #expect(html.contains(#"<span class="reference__domain">example-industry.org</span>"#))
            #expect(html.contains(#"<li id="ref-2" value="2">"#))
            #expect(html.contains(#">National freight statistics</a>"#), "an entry the basis does not know keeps its title")
            #expect(html.components(separatedBy: #"class="references__list""#).count == 2, "one numbered list")
            #expect(!html.contains(#"id="references-2""#), "the report's own References heading is not repeated")
            #expect(html.contains(#"<summary>Other sources consulted <span class="consulted__count">(1 source)</span></summary>"#))
            #expect(html.contains(#"rel="nofollow noopener noreferrer">stats.example.com</a>"#), "title falls back to the domain")
            #expect(html.contains("The European cold chain market reached EUR 52bn."))
            #expect(html.contains("Synthesised from trade-body statistics."))
            #expect(html.contains(#"<span class="confidence confidence--high">high</span>"#))
            #expect(html.contains(#"<time datetime=""#))
            #expect(html.contains("<code>ultra2x</code>"))
            #expect(html.contains(#"href="/r/\#(report.slug).md""#))
            #expect(html.contains(#"data-copy-link="https://reports.example.test/r/\#(report.slug)""#))
            #expect(html.contains(#"<meta property="og:title" content="Cold-chain logistics Market Research Report">"#))
            #expect(html.contains(#"<meta name="description" content="The market was worth EUR 52bn in 2025 and grows 6% a year ."#))
            #expect(!html.contains("noindex"), "public reports may be indexed")
            #expect(!html.contains("# Cold-Chain Logistics"), "the report's own title line is not repeated")
            #expect(InertHTML.problems(in: html).isEmpty)
        }
    }

    @Test func conditionalRequestsGet304AndHiddenReportsAre404() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try ReaderFixtures.insertCompleted(on: connection)
            let app = try ReaderFixtures.app(databaseURL: url)
            let (first, _) = try ReaderFixtures.get(app, "/r/\(report.slug)")
            let etag = try #require(first.headers["ETag"])
            let (again, body) = try ReaderFixtures.get(app, "/r/\(report.slug)", headers: ["If-None-Match": etag])
            #expect(again.status == 304)
            #expect(body.isEmpty)
            #expect(again.headers["ETag"] == etag)
            let (stale, _) = try ReaderFixtures.get(app, "/r/\(report.slug)", headers: ["If-None-Match": "\"other\""])
            #expect(stale.status == 200)

            _ = try connection.execute("UPDATE reports SET hidden = true WHERE id = \(report.id)")
            #expect(try ReaderFixtures.get(app, "/r/\(report.slug)").0.status == 404)
            #expect(try ReaderFixtures.get(app, "/r/\(report.slug).md").0.status == 404)
            #expect(try ReaderFixtures.get(app, "/api/v1/reports/\(report.publicID)").0.status == 404)
            #expect(try ReaderFixtures.get(app, "/r/no-such-report").0.status == 404)
            #expect(try ReaderFixtures.get(app, "/r/Bad%20Slug").0.status == 404)
        }
    }

    @Test func unlistedReportsRenderByLinkWithNoindex() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try ReaderFixtures.insertCompleted(on: connection, visibility: "unlisted")
            let app = try ReaderFixtures.app(databaseURL: url)
            let (response, html) = try ReaderFixtures.get(app, "/r/\(report.slug)")
            #expect(response.status == 200)
            #expect(html.contains(#"<meta name="robots" content="noindex">"#))
            #expect(response.headers["X-Robots-Tag"] == "noindex")
            let (api, json) = try ReaderFixtures.get(app, "/api/v1/reports/\(report.publicID)")
            #expect(api.status == 200)
            #expect(json.contains(#""visibility":"unlisted""#))
        }
    }

    @Test func markdownDownloadHasFrontMatterContentAndReferences() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try ReaderFixtures.insertCompleted(on: connection, region: "EU \"west\"\n---")
            let app = try ReaderFixtures.app(databaseURL: url)
            let (response, text) = try ReaderFixtures.get(app, "/r/\(report.slug).md")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/markdown; charset=utf-8")
            #expect(response.headers["Content-Disposition"] == "attachment; filename=\"\(report.slug).md\"")
            #expect(text.hasPrefix("---\ntitle: \"Cold-chain logistics Market Research Report\"\n"))
            #expect(text.contains("region: \"EU \\\"west\\\"\\n---\"\n"))
            #expect(text.contains("url: \"https://reports.example.test/r/\(report.slug)\"\n"))
            #expect(text.contains(ReaderFixtures.content))
            #expect(text.hasSuffix("\n## Other sources consulted\n\n- stats.example.com — https://stats.example.com:8443/table?id=7\n"))
            let (_, json) = try ReaderFixtures.get(app, "/api/v1/reports/\(report.publicID)")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let references = try #require(body["references"] as? [[String: Any]])
            #expect(references.map { $0["number"] as? Int } == [1, 2])
            #expect(references.map { $0["url"] as? String } == ["https://www.example-industry.org/report-2025", "https://freight.example.gov/2025"])
            #expect(references.first?["excerpts"] as? [String] == ["The European cold chain market reached EUR 52bn."])
            #expect((body["consulted_sources"] as? [[String: Any]])?.map { $0["url"] as? String } == ["https://stats.example.com:8443/table?id=7"])
            #expect(body["markdown"] as? String == ReaderFixtures.content)
        }
    }

    @Test func hostileUpstreamContentRendersInert() throws {
        let script = "<script>alert(1)</script>"
        let img = "<img src=x onerror=alert(1)>"
        let content = """
            # Title \(script)

            ## Summary \(img)

            Text [1] with [a link](javascript:alert(1)) and [another](JaVaScRiPt:alert(2)) and
            [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) and ![pic](javascript:alert(3)).

            <a href="javascript:alert(1)">raw</a> <svg onload=alert(1)> <iframe src="https://evil.example/"></iframe>

            | a | b |
            |---|---|
            | \(img) | <b onclick=alert(1)>x</b> |

            [ref]: javascript:alert(4)
            Click [ref] and <javascript:alert(5)> and [x](&#106;avascript:alert(6)).
            """
        let basis = """
            [{"field":"output","reasoning":"Because \(script) \(img)","confidence":"high\\" onmouseover=\\"x",
              "citations":[
                {"url":"javascript:alert(1)","title":"\(script)","excerpts":["\(img)","\\"><script>x</script>"]},
                {"url":"https://evil.example.org/\\"><script>alert(1)</script>","title":"\\" onmouseover=\\"alert(1)"},
                {"url":" data:text/html,<script>alert(1)</script>","title":null},
                {"url":"https://ok.example/?a=1&b=<x>","title":"<b>bold</b>","excerpts":["</blockquote><script>y</script>"]}]}]
            """
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try ReaderFixtures.insertCompleted(
                on: connection, industry: "Widgets \(script)", region: "\(img) \"'", title: "T \(script) \(img)",
                content: content, basis: basis)
            let app = try ReaderFixtures.app(databaseURL: url)
            let (response, html) = try ReaderFixtures.get(app, "/r/\(report.slug)")
            #expect(response.status == 200)
            #expect(InertHTML.problems(in: html) == [])
            #expect(!html.lowercased().contains("<script>"))
            #expect(!html.contains("<img src=x"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "hostile text is shown, escaped")
            #expect(html.contains(#"<span class="reference__unsafe">javascript:alert(1)</span>"#))
            #expect(!html.contains("confidence--high"), "an invalid confidence is dropped, not put in a class")

            let (library, libraryHTML) = try ReaderFixtures.get(app, "/library?q=widgets")
            #expect(library.status == 200)
            #expect(libraryHTML.contains("/r/\(report.slug)"))
            #expect(InertHTML.problems(in: libraryHTML) == [])
            #expect(!libraryHTML.lowercased().contains("<script>"))
        }
    }

    @Test func stateAPIShowsProgressAndLinksButNeverTheEmail() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try ReaderFixtures.insertCompleted(on: connection, email: "secret.person@example.com")
            let app = try ReaderFixtures.app(databaseURL: url)
            let (response, json) = try ReaderFixtures.get(app, "/api/v1/reports/\(report.publicID)")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(!json.contains("secret.person") && !json.contains("@"))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["status"] as? String == "completed")
            #expect(object["slug"] as? String == report.slug)
            #expect(object["url"] as? String == "https://reports.example.test/r/\(report.slug)")
            #expect((object["progress"] as? [String: Any])?["percent"] as? Double == 100)
            #expect(object["created_at"] is String && object["completed_at"] is String)

            let queued = try MigratedDatabase.insertReport(on: connection)
            let queuedID = try connection.queryFirst("SELECT public_id FROM reports WHERE id = \(queued)")?.string("public_id")
            let (_, queuedJSON) = try ReaderFixtures.get(app, "/api/v1/reports/\(queuedID ?? "")")
            let state = try #require(try JSONSerialization.jsonObject(with: Data(queuedJSON.utf8)) as? [String: Any])
            #expect(state["status"] as? String == "queued")
            #expect(state["slug"] is NSNull && state["url"] is NSNull)

            let (missing, missingJSON) = try ReaderFixtures.get(app, "/api/v1/reports/rpt_nope")
            #expect(missing.status == 404)
            #expect(missingJSON.contains(#""code":"not_found""#))
            let (bad, badJSON) = try ReaderFixtures.get(app, "/api/v1/reports?limit=1000")
            #expect(bad.status == 400)
            #expect(badJSON.contains(#""limit""#))
            let (list, listJSON) = try ReaderFixtures.get(app, "/api/v1/reports?limit=1")
            #expect(list.status == 200)
            #expect(listJSON.contains(report.slug) && listJSON.contains(#""next_cursor":null"#))
            #expect(!listJSON.contains("@"))
        }
    }
}
