import Foundation
import Testing
import Web
@testable import MarketLens

/// References built from upstream's basis, the Markdown download, and library parameters: no database.
@Suite struct ReaderReferenceTests {
    @Test func citationsAreCountedAcrossBasisEntriesInOrder() {
        let basis = ReportBasis(json: """
            [{"field":"market_size","reasoning":"From filings.","confidence":"medium",
              "citations":[{"url":"https://a.example/1","title":"A one"},{"url":"https://b.example/2","title":"B two"}]},
             {"field":"top_players","reasoning":"From rankings.","confidence":"HIGH",
              "citations":[{"url":"https://c.example/3","title":"C three","excerpts":["first","second"]}]},
             {"field":"empty","reasoning":"","citations":[]}]
            """)
        #expect(basis.entries.map(\.field) == ["market_size", "top_players", "empty"])
        #expect(basis.references.map(\.number) == [1, 2, 3])
        #expect(basis.references.map(\.displayTitle) == ["A one", "B two", "C three"])
        #expect(basis.entries[1].references.first?.number == 3)
        #expect(basis.entries[1].confidence == "high")
        #expect(basis.entries[1].references[0].excerpts == ["first", "second"])
        #expect(basis.entries[2].references.isEmpty)
    }

    @Test func missingTitlesFallBackToTheDomainThenToAPlainLabel() {
        let basis = ReportBasis(json: """
            [{"field":"output","reasoning":"r","citations":[
              {"url":"https://www.Example-Industry.org/x","title":null},
              {"url":"http://user@stats.example.com:8443/t?id=1","title":"   "},
              {"url":"javascript:alert(1)","title":null},
              {"url":"","title":""}]}]
            """)
        let references = basis.references
        #expect(references.map(\.displayTitle) == ["example-industry.org", "stats.example.com", "Untitled source", "Untitled source"])
        #expect(references.map(\.hasTitle) == [false, false, false, false])
        #expect(references[0].linkURL == "https://www.Example-Industry.org/x")
        #expect(references[2].linkURL == nil, "a javascript: URL never becomes a link")
        #expect(references[2].url == "javascript:alert(1)", "but it is still shown, as text")
        #expect(references[2].domain == nil)
    }

    @Test func aRepeatedURLKeepsItsNumberAndPointsToTheFirst() {
        let basis = ReportBasis(json: """
            [{"field":"output","reasoning":"r","citations":[
              {"url":"https://a.example/x","title":"First"},
              {"url":"https://b.example/y","title":"Second"},
              {"url":"https://A.example/x","title":"First again"}]}]
            """)
        #expect(basis.references.map(\.number) == [1, 2, 3])
        #expect(basis.references.map(\.duplicateOf) == [nil, nil, 1])
    }

    @Test func malformedBasisIsEmptyOrPartialNeverFatal() {
        #expect(ReportBasis(json: nil).entries.isEmpty)
        #expect(ReportBasis(json: "not json").entries.isEmpty)
        #expect(ReportBasis(json: "42").entries.isEmpty)
        let partial = ReportBasis(json: """
            {"basis":[{"field":"output","reasoning":7,"confidence":"certain",
              "citations":[5,{"url":"https://ok.example/","title":"Ok","excerpts":[1,"kept",null]}]}]}
            """)
        #expect(partial.references.count == 1)
        #expect(partial.references.first?.excerpts == ["kept"])
        #expect(partial.entries.first?.confidence == nil, "unknown confidence values are dropped")
        #expect(partial.entries.first?.reasoning == "")
    }

    @Test func titlesLoseControlCharactersAndNewlines() {
        let basis = ReportBasis(json: #"[{"citations":[{"url":"https://a.example/","title":"Line one\nline\u0007 two"}]}]"#)
        #expect(basis.references.first?.displayTitle == "Line one line two")
    }
}

@Suite struct ReaderExportTests {
    static let metadata = ReportMarkdownExport.Metadata(
        title: #"Cold "chain": EU\n---"#, industry: "Cold chain\n---\nevil: yes", region: "EU # not a comment",
        created: Date(timeIntervalSince1970: 1_767_000_000), completed: Date(timeIntervalSince1970: 1_767_001_200),
        processor: "ultra2x", url: "https://reports.example.test/r/cold-chain")

    @Test func frontMatterValuesAreQuotedAndEscaped() {
        let front = ReportMarkdownExport.frontMatter(Self.metadata)
        let lines = front.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "---")
        #expect(lines.filter { $0 == "---" }.count == 2, "no value can close the front matter")
        #expect(lines.contains(#"title: "Cold \"chain\": EU\\n---""#))
        #expect(lines.contains(#"industry: "Cold chain\n---\nevil: yes""#))
        #expect(lines.contains(#"region: "EU # not a comment""#))
        #expect(lines.contains(#"created: "2025-12-29T09:20:00Z""#))
        #expect(lines.contains(#"completed: "2025-12-29T09:40:00Z""#))
        #expect(lines.contains(#"processor: "ultra2x""#))
        #expect(lines.contains(#"url: "https://reports.example.test/r/cold-chain""#))
        #expect(!lines.contains { $0.hasPrefix("evil") })
    }

    @Test func yamlQuotingEscapesEverySeparator() {
        #expect(ReportMarkdownExport.yamlQuoted("a\u{2028}b\u{0}c\u{85}d\u{FEFF}") == #""a\u2028b\u0000c\u0085d\uFEFF""#)
        #expect(ReportMarkdownExport.yamlQuoted(#"back\slash"#) == #""back\\slash""#)
        #expect(ReportMarkdownExport.yamlQuoted("tab\tcr\r") == #""tab\tcr\r""#)
    }

    @Test func documentIsTheReportAsWrittenThenTheOtherSourcesAsABulletedList() {
        let content = "# T\n\nBody [1].\n\n## References\n\n1. Cold chain outlook. https://www.example-industry.org/report-2025\n"
        let citations = ReportCitations(content: content, basis: ReportBasis(json: ReaderFixtures.basis))
        let text = ReportMarkdownExport.document(metadata: Self.metadata, content: content, citations: citations)
        #expect(text.hasPrefix("---\ntitle: "))
        #expect(text.contains("---\n\n" + content))
        #expect(text.hasSuffix("\n## Other sources consulted\n\n- stats.example.com — https://stats.example.com:8443/table?id=7\n"))
        #expect(text.components(separatedBy: "example-industry.org/report-2025").count == 2, "a cited URL is listed once")
        #expect(!text.contains("\n[1] "), "no second numbered list")
    }

    @Test func aReportWithNothingElseConsultedEndsWithItself() {
        let content = "Body [1].\n\nSources:\n\n[1] A \u{2013} https://a.example/\n"
        let citations = ReportCitations(
            content: content, basis: ReportBasis(json: #"[{"citations":[{"url":"https://a.example","title":"A"}]}]"#))
        let text = ReportMarkdownExport.document(metadata: Self.metadata, content: content, citations: citations)
        #expect(text.hasSuffix("---\n\n" + content))
    }
}

@Suite struct LibraryQueryTests {
    func parse(_ query: String) throws(HTTPError) -> LibraryQuery {
        try LibraryQuery(form: URLEncodedForm(parsing: query))
    }

    func failure(_ query: String) -> HTTPError? {
        do {
            _ = try parse(query)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaultsAreTheNewestFirstPage() throws {
        let query = try parse("")
        #expect(query == LibraryQuery())
        #expect(query.sort == .newest && query.page == 1 && !query.isFiltered)
    }

    @Test func searchTextIsTrimmedAndSortsByRelevance() throws {
        let query = try parse("q=%20cold+chain%20&region=European+Union&from=2025-01-01&to=2025-12-31&page=3")
        #expect(query.text == "cold chain")
        #expect(query.sort == .relevance)
        #expect(query.region == "European Union")
        #expect(query.from?.text == "2025-01-01" && query.to?.text == "2025-12-31")
        #expect(query.page == 3)
        #expect(try parse("q=+++").text == nil)
        #expect(try parse("sort=relevance").sort == .newest, "relevance without search text means newest")
        #expect(try parse("q=x&sort=oldest").sort == .oldest)
    }

    @Test func badParametersAre400sNamingTheField() {
        let cases: [(String, String)] = [
            ("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"), ("page=501", "page"), ("page=1e3", "page"),
            ("page=99999999999999999999", "page"), ("sort=random", "sort"), ("from=2025-02-30", "from"),
            ("from=2025-2-3", "from"), ("to=yesterday", "to"), ("from=2025-06-01&to=2025-05-01", "to"),
            ("q=" + String(repeating: "a", count: 201), "q"), ("q=a%07b", "q"),
            ("region=" + String(repeating: "r", count: 81), "region"),
        ]
        for (query, field) in cases {
            let error = failure(query)
            #expect(error?.status == 400, "\(query)")
            #expect(error?.fields[field] != nil, "\(query) should name \(field)")
        }
    }

    @Test func pageLinksKeepTheFiltersAndEncodeThem() throws {
        let query = try parse("q=caf%C3%A9+%26+bars&region=Asia%2FPacific&from=2025-01-01&sort=oldest")
        #expect(query.queryString(page: 2) == "q=caf%C3%A9%20%26%20bars&region=Asia%2FPacific&from=2025-01-01&sort=oldest&page=2")
        #expect(try parse(query.queryString(page: 2)).page == 2)
        #expect(try parse("").queryString(page: 1) == "")
    }

    @Test func snippetsSplitAtTheMarkersAndDropMarkdown() {
        let raw = "**Cold** \u{E000}chain\u{E001} | market [1] <script \u{E000}chain\u{E001}"
        let segments = LibrarySearch.snippet(from: raw)
        #expect(segments.filter(\.isHit).map(\.text) == ["chain", "chain"])
        #expect(segments.map(\.text).joined() == " Cold chain market <script chain")
    }

    @Test func cursorsRoundTripAndRejectJunk() {
        let cursor = ReportCursor(completedMicros: 1_767_000_000_123_456, id: 42)
        #expect(ReportCursor(encoded: cursor.encoded) == cursor)
        #expect(!cursor.encoded.contains("="))
        #expect(ReportCursor(encoded: "bm9wZQ") == nil)
        #expect(ReportCursor(encoded: "%%%") == nil)
        #expect(ReportCursor(encoded: Data("v1:1:0".utf8).base64EncodedString()) == nil)
    }

    @Test func etagsChangeWithWhatChangesThePageAndMatchWeakly() {
        let date = Date(timeIntervalSince1970: 1_767_000_000)
        let tag = ReaderCaching.etag(slug: "a", completedAt: date, visibility: "public", representation: "html")
        #expect(tag != ReaderCaching.etag(slug: "a", completedAt: date, visibility: "unlisted", representation: "html"))
        #expect(tag != ReaderCaching.etag(slug: "a", completedAt: date, visibility: "public", representation: "md"))
        #expect(tag != ReaderCaching.etag(slug: "a", completedAt: date.addingTimeInterval(1), visibility: "public", representation: "html"))
        #expect(ReaderCaching.matches(ifNoneMatch: "\"x\", W/\(tag)", etag: tag))
        #expect(ReaderCaching.matches(ifNoneMatch: "*", etag: tag))
        #expect(!ReaderCaching.matches(ifNoneMatch: "\"x\"", etag: tag))
        #expect(!ReaderCaching.matches(ifNoneMatch: nil, etag: tag))
    }

    @Test func slugsAreCheckedBeforeAnyQuery() {
        #expect(ReaderLinks.isValidSlug("cold-chain-ab12"))
        #expect(!ReaderLinks.isValidSlug("-x"))
        #expect(!ReaderLinks.isValidSlug("Cold"))
        #expect(!ReaderLinks.isValidSlug(""))
        #expect(!ReaderLinks.isValidSlug(String(repeating: "a", count: 121)))
        #expect(!ReaderLinks.isValidSlug("a/b"))
    }

    @Test func theInertnessCheckCatchesWhatItLooksFor() {
        #expect(InertHTML.problems(in: #"<p title="x onerror=y &lt;script&gt;">ok</p>"#).isEmpty)
        #expect(InertHTML.problems(in: #"<script src="/static/js/report.js" defer></script>"#).isEmpty)
        #expect(InertHTML.problems(in: "<script>alert(1)</script>").count == 1)
        #expect(InertHTML.problems(in: "<img src=x onerror=alert(1)>").count == 1)
        #expect(InertHTML.problems(in: #"<a href=" JaVaScRiPt:alert(1)">x</a>"#).count == 1)
        #expect(InertHTML.problems(in: #"<a href='data:text/html,x'>x</a>"#).count == 1)
        #expect(InertHTML.problems(in: "<svg><b ONCLICK='x'>").count == 2)
    }

    @Test func libraryPagesAreReusedOnlyWhileFresh() throws {
        let cache = LibraryCache(expiry: .after(.milliseconds(50)))
        var renders = 0
        let render = { () -> String in renders += 1; return "page \(renders)" }
        #expect(cache.page(key: "q=a", render: render) == "page 1")
        #expect(cache.page(key: "q=a", render: render) == "page 1")
        #expect(cache.page(key: "q=b", render: render) == "page 2")
        Thread.sleep(forTimeInterval: 0.08)
        #expect(cache.page(key: "q=a", render: render) == "page 3")
        var counts = 0
        #expect(cache.count(key: "k") { counts += 1; return 7 } == 7)
        #expect(cache.count(key: "k") { counts += 1; return 8 } == 7)
        #expect(counts == 1)
    }

    @Test func summariesDropMarkersAndMarkup() {
        let summary = ReportRendering.summary(of: "# T\n\n## S\n\nThe **market** was worth EUR 52bn [1] in 2025 [12].")
        #expect(summary == "The market was worth EUR 52bn in 2025 .")
    }
}
