public import Foundation
public import Markdown
public import ReportFigures

/// Turns a stored report's Markdown into the HTML of the report page: rendered once per request (or taken from
/// `ReportRenderCache`), server-side, raw HTML dropped, only absolute http(s) links kept, headings
/// anchored, `[n]` linked to the references, each table given an anchor and its charts (`ReportFigures`) beside it.
public enum ReportRendering {
    /// Ids the report page uses itself, which headings inside the report must not take.
    static let reservedAnchors: Set<String> = [
        "main", "contents", "references", "report", "report-title", "report-meta", "report-actions",
        "key-figures", "key-figures-title",
    ]

    /// What the page needs from the Markdown.
    public struct Rendered: Sendable, Equatable {
        /// Safe HTML of the report body (without its leading title heading).
        public var html: String
        /// The headings for the table of contents (levels 2 and 3).
        public var toc: [Heading]
        /// A plain-text summary for `<meta name="description">` (at most 200 characters).
        public var summary: String
        /// The charts drawn in `html` (none when the tables could not be matched to the page's).
        public var charts: [ReportChart] = []
        /// The headline figures the tables state, each pointing at a table anchor present in `html`.
        public var keyFigures = KeyFigures()
    }

    /// Renders a report's Markdown. The first line, when it is a level-1 heading, is left out: the page shows
    /// the report's title itself. Markers link only to `citationTargets` (nil: every number). `completedAt`
    /// decides which years the charts draw as forecasts. Over-large or unrenderable content becomes a short
    /// notice, not an error page.
    public static func render(content: String, citationTargets: Set<Int>? = nil, completedAt: Date? = nil) -> Rendered {
        let body = droppingLeadingTitle(content)
        let tables = ReportFigures.tables(inMarkdown: body)
        // Table anchors are taken before headings get theirs, so a heading "Table 1" cannot take `table-1`.
        let options = MarkdownOptions(
            citationLinks: true, reservedAnchors: reservedAnchors.union(tables.map(\.anchor)),
            citationTargets: citationTargets)
        do {
            let document = try MarkdownRenderer.render(body, options: options)
            let toc = document.headings.filter { (2...3).contains($0.level) && !$0.text.isEmpty }
            var rendered = Rendered(html: document.html, toc: toc, summary: summary(of: body))
            let charts = tables.flatMap { ReportFigures.charts(of: $0, completedAt: completedAt) }
            if let html = TableFigures.place(charts, tableCount: tables.count, in: document.html) {
                rendered.html = html
                rendered.charts = charts
                rendered.keyFigures = ReportFigures.keyFigures(tables: tables, charts: charts, completedAt: completedAt)
            }
            return rendered
        } catch {
            return Rendered(
                html: "<p>This report is too large to display. Download it as Markdown instead.</p>\n", toc: [],
                summary: "")
        }
    }

    /// `content` without a first non-empty line of the form `# Title`.
    static func droppingLeadingTitle(_ content: String) -> String {
        var rest = Substring(content)
        while let first = rest.first, first == "\n" || first == "\r" || first == " " { rest = rest.dropFirst() }
        guard rest.hasPrefix("# ") else { return content }
        let end = rest.firstIndex(of: "\n") ?? rest.endIndex
        return String(rest[end...])
    }

    /// The first paragraph's text with Markdown punctuation and citation markers removed, cut at a word near 200
    /// characters.
    static func summary(of content: String) -> String {
        for line in content.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix("|"), !trimmed.hasPrefix(">"),
                !trimmed.hasPrefix("```"), !trimmed.hasPrefix("<"), !trimmed.hasPrefix("-"), !trimmed.hasPrefix("*")
            else { continue }
            let text = String(removingCitationMarkers(trimmed).filter { !"*_`#|<>".contains($0) })
            let words = text.split(separator: " ")
            var out = ""
            for word in words {
                if out.count + word.count + 1 > 197 { return out + "…" }
                out += out.isEmpty ? String(word) : " " + word
            }
            if !out.isEmpty { return out }
        }
        return ""
    }

    /// `text` without citation markers (`[3]`, `[1, 3]`, `[1–3]`), its spacing otherwise untouched.
    static func removingCitationMarkers(_ text: String) -> String {
        CitationMarkers.split(text).compactMap { if case .text(let plain) = $0 { plain } else { nil } }.joined()
    }
}
