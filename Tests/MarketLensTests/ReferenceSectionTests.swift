import Foundation
import Testing
@testable import MarketLens

/// The report's own reference section against the corpus of real-shaped report endings: what each marker
/// links to on the page, and what is listed as consulted.
@Suite struct ReferenceSectionTests {
    /// The numbers the rendered body links to (`href="#ref-n"`).
    static func linkedNumbers(in html: String) -> [Int] {
        html.components(separatedBy: "href=\"#ref-").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
    }

    @Test(arguments: ReferenceCorpus.cases)
    func corpusCase(_ example: ReferenceCorpus.Case) {
        let citations = ReportCitations(content: example.content, basis: ReportBasis(json: example.basis))
        #expect(citations.references.map(\.number) == example.references.map(\.0), "numbers")
        #expect(citations.references.map(\.url) == example.references.map(\.1), "every entry links to its own URL")
        #expect(citations.references.map(\.displayTitle) == example.references.map(\.2), "entries keep their titles")
        #expect(citations.consulted.map(\.url) == example.consulted, "the rest of the basis, once each")
        let numbered = Set(citations.references.map { ReportCitations.key($0.url) })
        #expect(citations.consulted.allSatisfy { !numbered.contains(ReportCitations.key($0.url)) }, "no URL in both lists")

        let body = citations.section.map { $0.removing(from: example.content) } ?? example.content
        let html = ReportRendering.render(content: body, citationTargets: citations.targets).html
        let linked = Self.linkedNumbers(in: html)
        #expect(Set(linked) == example.linked, "markers link to the entries with their numbers")
        #expect(linked.allSatisfy(citations.targets.contains), "no marker links nowhere")
        for reference in example.references { #expect(!body.contains(reference.1) || example.linked.isEmpty) }
    }

    @Test func enrichmentTakesExcerptsFromTheBasisCitationOfTheSameURL() {
        let example = ReferenceCorpus.cases[0]
        let citations = ReportCitations(content: example.content, basis: ReportBasis(json: example.basis))
        #expect(citations.references[0].excerpts == ["From https://www.a.example/1/"])
        #expect(citations.references[1].excerpts == ["From https://b.example/2"])
        #expect(citations.references[0].displayTitle == "Alpha report", "the report's title wins over the basis title")
    }

    @Test func duplicateURLsPointToTheFirstEntry() {
        let example = ReferenceCorpus.cases.first { $0.name.hasPrefix("duplicate URLs") }
        let citations = ReportCitations(content: example?.content ?? "", basis: ReportBasis(json: example?.basis))
        #expect(citations.references.map(\.duplicateOf) == [nil, nil, 1])
    }

    @Test func headingsAreRecognisedInAnyFormAndCase() {
        for heading in ["## References", "# SOURCES", "#### Citations:", "Bibliography\n---", "**Works Cited**", "References:",
                        "## 9. Sources and References", "### Key Sources"] {
            let section = ReferenceSection.find(in: "Text [1].\n\n\(heading)\n\n1. A. https://a.example/\n")
            #expect(section?.entries.first?.url == "https://a.example/", "\(heading)")
        }
        for heading in ["## Source Code", "## Resources and tools", "**Note**"] {
            let section = ReferenceSection.find(in: "Text [1].\n\n\(heading)\n\nSome prose here.\n")
            #expect(section == nil, "\(heading)")
        }
    }

    @Test func theSectionEndsAtTheNextHeadingOfItsLevel() {
        let content = "Body [1].\n\n## Sources\n1. A. https://a.example/\n\n### More\n2. B. https://b.example/\n\n## Appendix\n3. C. https://c.example/\n"
        let section = ReferenceSection.find(in: content)
        #expect(section?.entries.map(\.url) == ["https://a.example/", "https://b.example/"])
        #expect(section?.removing(from: content) == "Body [1].\n\n## Appendix\n3. C. https://c.example/\n")
    }

    @Test func hostileEntriesAreTextAndOnlyHTTPURLsAreKept() {
        let content = "Body [1][2].\n\n## References\n1. <script>alert(1)</script> javascript:alert(1)\n2. [x](javascript:alert(1)) https://ok.example/\n"
        let citations = ReportCitations(content: content, basis: ReportBasis(json: nil))
        #expect(citations.references.map(\.url) == ["", "https://ok.example/"])
        #expect(citations.references[0].linkURL == nil)
        #expect(citations.references[0].displayTitle.contains("<script>"), "kept as text; the template escapes it")
    }

    @Test func aHugeListIsCapped() {
        let entries = (1...1_500).map { "\($0). T. https://e.example/\($0)" }.joined(separator: "\n")
        let section = ReferenceSection.find(in: "## References\n" + entries)
        #expect(section?.entries.count == ReferenceSection.maxEntries)
    }
}
