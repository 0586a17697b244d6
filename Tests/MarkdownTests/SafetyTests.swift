import Foundation
import Testing
@testable import Markdown

@Suite("Markdown safety")
struct SafetyTests {
    @Test(arguments: [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "text <b onmouseover=alert(1)>bold</b> text",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<svg onload=alert(1)>",
        "<style>body{display:none}</style>",
        "<!-- comment --><div>block</div>",
    ])
    func rawHTMLIsOmitted(_ source: String) throws {
        let html = try MarkdownRenderer.render(source).html
        for forbidden in ["<script", "<img", "<iframe", "<b ", "<svg", "<style", "<div", "onerror", "onload", "javascript:"] {
            #expect(!html.contains(forbidden), "\(forbidden) in \(html)")
        }
    }

    static let hostileURLs = [
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "&#106;avascript:alert(1)",
        "&#x6A;&#x61;vascript:alert(1)", "jav&#x09;ascript:alert(1)", "javascript&colon;alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=", "DATA:image/svg+xml,<svg>", "vbscript:msgbox(1)", "file:///etc/passwd",
        "\\javascript:alert(1)", "java\\script:alert(1)", "mhtml:file://x", "about:blank",
    ]

    @Test(arguments: hostileURLs)
    func hostileLinksAreUnwrapped(_ url: String) throws {
        for source in ["[click](\(url))", "[click](<\(url)>)", "[click][r]\n\n[r]: \(url)", "<\(url)>"] {
            let html = try MarkdownRenderer.render(source).html
            // No link at all: the URL may remain as inert text, never as an href.
            #expect(!html.contains("<a"), "\(source) → \(html)")
            #expect(!html.contains("href"), "\(source) → \(html)")
            // The link text survives as plain text.
            if source.hasPrefix("[click]") { #expect(html.contains("click"), "\(source) → \(html)") }
        }
    }

    @Test(arguments: hostileURLs)
    func hostileImagesAreUnwrapped(_ url: String) throws {
        let html = try MarkdownRenderer.render("![alt text](\(url))").html
        #expect(!html.contains("<img"), "\(html)")
        #expect(html.contains("alt text"))
    }

    @Test func onlyAbsoluteHTTPLinksAndImagesSurvive() throws {
        let html = try MarkdownRenderer.render(
            "[a](https://a.example) [b](http://b.example) [c](/r/x) [d](#refs) [e](mailto:x@y.example) [f](//cdn.example/x) ![i](https://i.example/p.png) ![j](/static/j.png)",
            options: .init(externalLinkRel: nil)
        ).html
        #expect(html.contains(##"<a href="https://a.example">a</a>"##))
        #expect(html.contains(##"<a href="http://b.example">b</a>"##))
        #expect(html.contains(##"<img src="https://i.example/p.png" alt="i" />"##))
        // Relative, fragment, protocol-relative and mailto links lose their link and keep their text.
        #expect(html.contains(" c d e f "), "\(html)")
        #expect(!html.contains("mailto:") && !html.contains(#"href="/"#) && !html.contains(##"href="#"##))
        #expect(!html.contains("//cdn.example") && !html.contains("/static/j.png"))
        #expect(html.contains(" /> j</p>"), "the refused image keeps its alt text: \(html)")
    }

    @Test func percentEncodedSchemeIsNoLink() throws {
        // A browser would read this as a relative path; relative links are refused anyway.
        let html = try MarkdownRenderer.render("[x](javascript%3Aalert(1))", options: .init(externalLinkRel: nil)).html
        #expect(!html.contains("<a "))
        #expect(html.contains("<p>x</p>"))
    }

    @Test func urlPolicy() {
        for allowed in ["https://x", "HTTP://x", " https://x/y?z#f", "ht\ttps://x"] {
            #expect(URLPolicy.isAllowed(allowed), "\(allowed)")
        }
        for refused in ["mailto:a@b", "/path", "#frag", "?q=1", "//cdn.example/x", "a/b:c", "", "https:", "https:x",
                        "https:///x", "https:/\\x", "tel:123"] {
            #expect(!URLPolicy.isAllowed(refused), "\(refused)")
        }
        for refused in ["javascript:x", "\u{1}javascript:x", "java\nscript:x", " \tJAVASCRIPT:x", "data:x", "foo:bar", ":x"] {
            #expect(!URLPolicy.isAllowed(refused), "\(refused)")
        }
    }

    @Test func largeInputRendersAndLimitIsEnforced() throws {
        let section = "## Section\n\nSome *text* with a [link](https://x.example) and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        let source = String(repeating: section, count: 10_000)
        let document = try MarkdownRenderer.render(source, options: .init(citationLinks: true))
        #expect(document.headings.count == 10_000)
        #expect(document.headings.last?.anchor == "section-10000")
        let error = #expect(throws: MarkdownError.self) {
            try MarkdownRenderer.render(String(repeating: "x", count: 101), options: .init(maxInputBytes: 100))
        }
        #expect(error?.kind == .inputTooLarge)
    }

    @Test func deepNestingDoesNotCrash() throws {
        let quotes = String(repeating: ">", count: 50_000) + " deep"
        #expect(try MarkdownRenderer.render(quotes).html.contains("deep"))
        let lists = (0..<1_000).map { String(repeating: "  ", count: $0) + "- item \($0)" }.joined(separator: "\n")
        #expect(try MarkdownRenderer.render(lists).html.contains("item 0"))
        let brackets = String(repeating: "[", count: 50_000) + "x" + String(repeating: "](https://a.example)", count: 50_000)
        _ = try MarkdownRenderer.render(brackets)
        let emphasis = String(repeating: "*a **b ", count: 20_000)
        _ = try MarkdownRenderer.render(emphasis)
    }

    @Test func oddInputIsHandled() throws {
        let html = try MarkdownRenderer.render("a\u{0}b \u{FFFD} \u{202E}rtl \r\n# T\u{0}itle\r\n")
        #expect(!html.html.contains("\u{0}"))
        #expect(html.html.contains("a\u{FFFD}b"))
        #expect(try MarkdownRenderer.render("").html == "")
    }

    @Test func concurrentRenderingIsConsistent() async throws {
        let source = "## T\n\n~~gone~~ and www.example.com and | a |\n\n| x | y |\n|---|---|\n| 1 | 2 |\n"
        let expected = try MarkdownRenderer.render(source).html
        #expect(expected.contains("<del>gone</del>"))
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<300 where try MarkdownRenderer.render(source).html != expected { return false }
                    return true
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 })
    }
}
