import Testing
@testable import Markdown

@Suite("Markdown rendering")
struct RenderingTests {
    @Test func rendersTables() throws {
        let html = try MarkdownRenderer.render("""
            | Segment | Share |
            |:--------|------:|
            | Cold chain | 42% |
            """).html
        #expect(html.contains("<table>"))
        #expect(html.contains("<th align=\"left\">Segment</th>"))
        #expect(html.contains("<td align=\"right\">42%</td>"))
    }

    @Test func rendersStrikethroughAndAutolinks() throws {
        let html = try MarkdownRenderer.render(
            "~~old~~ new, see www.example.com and https://example.org/x and ops@example.com",
            options: .init(externalLinkRel: nil)
        ).html
        #expect(html.contains("<del>old</del>"))
        #expect(html.contains(##"<a href="http://www.example.com">www.example.com</a>"##))
        #expect(html.contains(##"<a href="https://example.org/x">https://example.org/x</a>"##))
        #expect(html.contains("and ops@example.com") && !html.contains("mailto:"), "an e-mail address is no link")
    }

    @Test func headingsGetUniqueAnchorsAndTOC() throws {
        let document = try MarkdownRenderer.render("""
            # Cold-Chain Logistics: Market Report

            ## Overview
            ## Overview
            ### Café & *Crème* `API`
            #### Risks — 2026!
            ##### Deep
            ## Overview 2
            ## ???
            """)
        #expect(document.title == "Cold-Chain Logistics: Market Report")
        #expect(document.headings == [
            Heading(level: 1, text: "Cold-Chain Logistics: Market Report", anchor: "cold-chain-logistics-market-report"),
            Heading(level: 2, text: "Overview", anchor: "overview"),
            Heading(level: 2, text: "Overview", anchor: "overview-2"),
            Heading(level: 3, text: "Café & Crème API", anchor: "cafe-creme-api"),
            Heading(level: 4, text: "Risks — 2026!", anchor: "risks-2026"),
            Heading(level: 2, text: "Overview 2", anchor: "overview-2-2"),
            Heading(level: 2, text: "???", anchor: "section"),
        ])
        let html = document.html
        #expect(html.contains(##"<h1 id="cold-chain-logistics-market-report">Cold-Chain Logistics: Market Report</h1>"##))
        #expect(html.contains(##"<h2 id="overview">Overview</h2>"##))
        #expect(html.contains(##"<h2 id="overview-2">Overview</h2>"##))
        #expect(html.contains(##"<h3 id="cafe-creme-api">Café &amp; <em>Crème</em> <code>API</code></h3>"##))
        #expect(html.contains("<h5>Deep</h5>"))
    }

    @Test func noTitleWithoutH1() throws {
        #expect(try MarkdownRenderer.render("## Only a subsection\n\ntext").title == nil)
    }

    @Test func reservedAndCitationAnchorsAreAvoided() throws {
        let document = try MarkdownRenderer.render(
            "## Ref 1\n## References\n", options: .init(citationLinks: true, reservedAnchors: ["references"]))
        #expect(document.headings.map(\.anchor) == ["ref-1-2", "references-2"])
    }

    @Test func citationMarkersBecomeLinks() throws {
        let html = try MarkdownRenderer.render(
            "Growth is 12% [1][2], per [the survey](https://s.example) [3] and `code [4]` and [12345] [x] [].",
            options: .init(citationLinks: true, externalLinkRel: nil)
        ).html
        #expect(html.contains(##"Growth is 12% <a href="#ref-1" class="cite">[1]</a><a href="#ref-2" class="cite">[2]</a>, per"##))
        #expect(html.contains(##"<a href="https://s.example">the survey</a> <a href="#ref-3" class="cite">[3]</a>"##))
        #expect(html.contains("<code>code [4]</code>"))
        #expect(html.contains("[12345] [x] []."))
        #expect(!html.contains("ref-4"))
    }

    @Test func citationsInsideLinkTextAreLeftAlone() throws {
        let html = try MarkdownRenderer.render(
            "[see [7] here](https://a.example) and ![chart [8]](https://img.example/c.png)",
            options: .init(citationLinks: true, externalLinkRel: nil)
        ).html
        #expect(!html.contains("ref-7"))
        #expect(!html.contains("ref-8"))
        #expect(html.contains("see [7] here"))
    }

    @Test func citationMarkersStayOutOfTOCAndTitle() throws {
        let document = try MarkdownRenderer.render("# Solar [1]\n\n## Market size [2][3]\n", options: .init(citationLinks: true))
        #expect(document.title == "Solar")
        #expect(document.headings.map(\.text) == ["Solar", "Market size"])
        #expect(document.headings.map(\.anchor) == ["solar", "market-size"])
        #expect(document.html.contains(##"<h2 id="market-size">Market size <a href="#ref-2" class="cite">[2]</a>"##))
    }

    @Test func citationsOffByDefault() throws {
        #expect(!(try MarkdownRenderer.render("claim [1]").html.contains("cite")))
    }

    @Test func externalLinksGetRel() throws {
        let html = try MarkdownRenderer.render(
            ##"[a](https://x.example/p?q=1&r='2' "T \"itle\" <b>") [b](/library) [c](#ref-1) [d](mailto:a@b.example)"##
        ).html
        #expect(html.contains(
            ##"<a href="https://x.example/p?q=1&amp;r=&#x27;2&#x27;" rel="nofollow noopener noreferrer" title="T &quot;itle&quot; &lt;b&gt;">a</a>"##))
        #expect(html.contains(" b c d</p>"), "relative, fragment and mailto links keep only their text: \(html)")
    }

    @Test func externalHrefIsPercentEncoded() throws {
        let html = try MarkdownRenderer.render(##"[x](<https://a.example/ä b"onmouseover=alert(1)>)"##).html
        #expect(html.contains(##"href="https://a.example/%C3%A4%20b%22onmouseover=alert(1)""##))
        #expect(!html.contains("\"onmouseover"))
    }

    @Test func citationScanner() {
        #expect(CitationScanner.split("a [1] b [22][3]") == [
            .text("a "), .citation(number: 1, marker: "[1]"), .text(" b "), .citation(number: 22, marker: "[22]"),
            .citation(number: 3, marker: "[3]"),
        ])
        #expect(CitationScanner.split("[01]") == [.citation(number: 1, marker: "[01]")])
        #expect(CitationScanner.split("[1") == [.text("[1")])
        #expect(CitationScanner.split("[[1]]") == [.text("["), .citation(number: 1, marker: "[1]"), .text("]")])
    }

    @Test func slugs() {
        #expect(AnchorAllocator.slug("  Hello,   World!  ") == "hello-world")
        #expect(AnchorAllocator.slug("Ärger über Öl") == "arger-uber-ol")
        #expect(AnchorAllocator.slug("<script>alert(1)</script>") == "script-alert-1-script")
        #expect(AnchorAllocator.slug(String(repeating: "ab ", count: 100)).count <= 80)
        #expect(AnchorAllocator.slug("").isEmpty == false)
    }
}
