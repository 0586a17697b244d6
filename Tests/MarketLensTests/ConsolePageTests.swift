import Foundation
import Testing
import TestSupport
import Web
@testable import MarketLens

/// The console page and its callback page as the browser receives them, rendered through the real router.
@Suite struct ConsolePageTests {
    static func app() throws -> MarketLensApp {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let configuration = try AppConfiguration(environment: [
            "MARKETLENS_ROOT": root.path, "PARALLEL_BASE_URL": "http://127.0.0.1:9",
            "CONSOLE_OAUTH_ISSUER": "https://auth.example/<x>",
        ])
        return try MarketLensApp(configuration: configuration, logger: LogCapture().logger)
    }

    static func get(_ path: String) throws -> (Response, String) {
        let handler = try app().makeHandler()
        let response = handler.handle(Request(method: "GET", path: path))
        guard case .bytes(let bytes) = response.body else { return (response, "") }
        return (response, String(decoding: bytes, as: UTF8.self))
    }

    @Test func theFormOffersEveryProcessorWithPriceAndLatency() throws {
        let (response, html) = try Self.get("/console")
        #expect(response.status == 200)
        for processor in ConsoleProcessor.all {
            #expect(html.contains(#"<option value="\#(processor.name)""#), "\(processor.name)")
        }
        #expect(html.contains("lite · $5/1k runs · 10 s – 60 s"))
        #expect(html.contains("ultra8x · $2400/1k runs · 5 min – 2 h"))
        #expect(html.contains(#"<option value="core" selected>"#))
        for id in ["run-form", "output-schema", "input-schema", "include-domains", "exclude-domains", "metadata-rows",
                   "webhook-url", "enable-events", "history", "events", "connect", "key-form"] {
            #expect(html.contains(#"id="\#(id)""#), "missing #\(id)")
        }
        #expect(html.contains(#"data-max-metadata-key="16""#) && html.contains(#"data-max-metadata-value="512""#))
        #expect(html.contains(#"<script src="/static/js/console.js" defer></script>"#))
        #expect(!html.contains("<script>"), "no inline script (CSP)")
        #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil, "no inline handlers")
    }

    @Test func configuredValuesAreEscaped() throws {
        let configuration = try AppConfiguration(environment: ["CONSOLE_OAUTH_ISSUER": "https://auth.example"])
        #expect(configuration.consoleOAuthIssuer == "https://auth.example")
        #expect(try AppConfiguration(environment: [:]).consoleOAuthIssuer == "https://platform.parallel.ai")
        #expect(try AppConfiguration(environment: ["PARALLEL_BASE_URL": "http://127.0.0.1:5000/"]).consoleOAuthIssuer
            == "http://127.0.0.1:5000")
        #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: ["CONSOLE_OAUTH_ISSUER": "javascript:x"]) }
    }

    @Test func theCallbackPageSendsNoReferrer() throws {
        let (response, html) = try Self.get("/console/callback")
        #expect(response.status == 200)
        #expect(response.headers["Referrer-Policy"] == "no-referrer")
        #expect(html.contains(#"id="callback-status""#))
        #expect(html.contains("/static/js/console-oauth.js"))
    }

    @Test func unknownRelayPathsAreRefusedAsJSONByTheRouter() throws {
        let handler = try Self.app().makeHandler()
        for (method, path) in [("GET", "/console/api/v1/tasks/groups/tgrp_1"), ("DELETE", "/console/api/v1/tasks/runs/trun_1"),
                               ("POST", "/console/api/v1beta/chat/completions"), ("PUT", "/console/api/anything")] {
            let response = handler.handle(ConsoleRequests.make(method, path))
            #expect(response.status == 403, "\(method) \(path)")
            #expect(ConsoleRequests.errorCode(response) == "not_allowed")
        }
    }

    @Test func markdownIsRenderedSafelyOnTheServer() throws {
        let handler = try Self.app().makeHandler()
        let hostile = ##"{"markdown":"# Title\n\nText <img src=x onerror=alert(1)> [x](javascript:alert(1)) [ok](https://example.com)\n\n<script>alert(1)</script>"}"##
        let response = handler.handle(ConsoleRequests.make("POST", "/console/render-markdown", key: nil, body: hostile))
        #expect(response.status == 200)
        let html = try #require(ConsoleRequests.json(response)["html"] as? String)
        #expect(html.contains("<h1"))
        #expect(!html.contains("<script") && !html.contains("onerror") && !html.contains("javascript:"))
        #expect(html.contains(#"href="https://example.com""#))
        let refused = handler.handle(ConsoleRequests.make("POST", "/console/render-markdown", key: nil, body: hostile, csrf: false))
        #expect(refused.status == 403)
    }
}
