import Foundation
import Testing
import Web
@testable import MarketLens

/// The templates of the repository itself, rendered as a visitor would receive them.
@Suite struct PageRendererTests {
    static let templates: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("templates").path
    }()

    @Test func homePageHasTheResearchFormInsideTheLayout() throws {
        let renderer = try PageRenderer(directory: Self.templates)
        let html = try renderer.render(
            "home",
            ["title": "New report", "csrfToken": "tok123", "nav": ["home": true], "inProgress": [], "latest": []])
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains("<title>New report · Marketlens</title>"))
        #expect(html.contains(#"<form class="research-form" method="post" action="/reports""#))
        for field in ["industry", "region", "focus", "email", "visibility", "csrf_token"] {
            #expect(html.contains(#"name="\#(field)""#), "missing field \(field)")
        }
        #expect(html.contains(#"value="tok123""#))
        #expect(html.contains(#"href="/" aria-current="page""#))
        #expect(html.contains("/static/css/app.css"))
        #expect(!html.contains("<script>"), "pages carry no inline script (CSP)")
    }

    @Test func userValuesAreEscaped() throws {
        let renderer = try PageRenderer(directory: Self.templates)
        let hostile = #""><script>alert(1)</script>"#
        let html = try renderer.render(
            "home",
            [
                "title": hostile, "csrfToken": "t", "inProgress": [["id": "rpt_1", "label": hostile, "state": "running"]],
                "form": ["values": ["industry": hostile, "focus": "</textarea><img src=x onerror=alert(1)>"],
                         "fields": ["industry": hostile]],
            ])
        #expect(!html.contains("<script>alert(1)</script>"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains("&lt;script&gt;"))
    }

    @Test func errorPagesUseTheLayoutAndNeverTheInternals() throws {
        let pages = ErrorPages(renderer: try PageRenderer(directory: Self.templates))
        let request = Request(method: "GET", path: "/nope", requestID: "req-42")
        let notFound = try pages.renderErrorPage(for: .notFound(), request: request)
        #expect(notFound.contains("Page not found"))
        #expect(notFound.contains("404"))
        #expect(notFound.contains(#"class="site-header""#))
        #expect(!notFound.contains("req-42") && !notFound.contains("Reference"), "404s need no reference")
        let failure = try pages.renderErrorPage(for: .internalServerError(), request: request)
        #expect(failure.contains("req-42"), "500s show the reference to quote to the operator")
    }

    @Test func missingTemplatesAreAClearError() {
        #expect(throws: TemplateError.self) { try PageRenderer(directory: "/nonexistent/templates") }
        #expect(throws: TemplateError.self) { try PageRenderer(directory: Self.templates).render("nope", [:]) }
    }
}
