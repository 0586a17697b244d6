import Foundation
public import Markdown

/// Turns a stored report's Markdown into the HTML of the report page: rendered once per request (or taken from
/// `ReportRenderCache`), server-side, raw HTML dropped, only absolute http(s) links kept, headings
/// anchored, `[n]` linked to the references.
public enum ReportRendering {
    /// Ids the report page uses itself, which headings inside the report must not take.
    static let reservedAnchors: Set<String> = [
        "main", "contents", "references", "report", "report-title", "report-meta", "report-actions",
    ]

    /// What the page needs from the Markdown.
    public struct Rendered: Sendable, Equatable {
        /// Safe HTML of the report body (without its leading title heading).
        public var html: String
        /// The headings for the table of contents (levels 2 and 3).
        public var toc: [Heading]
        /// A plain-text summary for `<meta name="description">` (at most 200 characters).
        public var summary: String
    }

    /// Renders a report's Markdown. The first line, when it is a level-1 heading, is left out: the page shows
    /// the report's title itself. Over-large or unrenderable content becomes a short notice, not an error page.
    public static func render(content: String) -> Rendered {
        let body = droppingLeadingTitle(content)
        let options = MarkdownOptions(citationLinks: true, reservedAnchors: reservedAnchors)
        do {
            let document = try MarkdownRenderer.render(body, options: options)
            let toc = document.headings.filter { (2...3).contains($0.level) && !$0.text.isEmpty }
            return Rendered(html: document.html, toc: toc, summary: summary(of: body))
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

    /// `text` without `[n]` markers (1 to 4 digits).
    static func removingCitationMarkers(_ text: String) -> String {
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            if text[index] == "[" {
                let digits = text[text.index(after: index)...].prefix { $0.isASCII && $0.isNumber }
                if (1...4).contains(digits.count), digits.endIndex < text.endIndex, text[digits.endIndex] == "]" {
                    index = text.index(after: digits.endIndex)
                    continue
                }
            }
            out.append(text[index])
            index = text.index(after: index)
        }
        return out
    }
}
