import Foundation
import Testing
import TestSupport
import Web
@testable import MarketLens

/// The relay's rules, without a network: a refused call must be refused before anything is sent upstream, so
/// these relays point at a port where nothing listens (a call that got through would answer 502, not 403).
@Suite struct ConsolePolicyTests {
    static var nowhere: ConsoleRelay { ConsoleRelay(baseURL: "http://127.0.0.1:9", logger: LogCapture().logger) }

    @Test(arguments: [
        ("POST", "/v1/tasks/runs", ConsoleEndpoint.createRun),
        ("GET", "/v1/tasks/runs/trun_abc123", .run("trun_abc123")),
        ("GET", "/v1/tasks/runs/trun_ABC9/input", .input("trun_ABC9")),
        ("GET", "/v1/tasks/runs/trun_x/result", .result("trun_x")),
        ("GET", "/v1/tasks/runs/trun_4be1d0c2a7f94b9c8e1f2a3b4c5d6e7f/events",
         .events("trun_4be1d0c2a7f94b9c8e1f2a3b4c5d6e7f")),
    ])
    func allowedCalls(method: String, path: String, expected: ConsoleEndpoint) {
        #expect(ConsoleRelayPolicy.endpoint(method: method, path: path) == expected)
    }

    @Test(arguments: [
        ("GET", "/v1/tasks/runs"),  // no list endpoint
        ("DELETE", "/v1/tasks/runs/trun_abc"),
        ("POST", "/v1/tasks/runs/trun_abc"),
        ("PUT", "/v1/tasks/runs"),
        ("GET", "/v1/tasks/groups/tgrp_1"),
        ("POST", "/v1/tasks/groups"),
        ("POST", "/v1beta/chat/completions"),
        ("POST", "/chat/completions"),
        ("GET", "/v1/tasks/runs/run_abc"),
        ("GET", "/v1/tasks/runs/trun_"),
        ("GET", "/v1/tasks/runs/trun_a-b"),
        ("GET", "/v1/tasks/runs/trun_a%2F..%2Fx"),
        ("GET", "/v1/tasks/runs/trun_abc/other"),
        ("GET", "/v1/tasks/runs/trun_abc/events/extra"),
        ("GET", "/v1/tasks/runs/trun_abc//events"),
        ("GET", "/__sim/requests"),
        ("HEAD", "/v1/tasks/runs/trun_abc"),
        ("OPTIONS", "/v1/tasks/runs"),
        ("GET", "/"),
    ])
    func refusedCalls(method: String, path: String) {
        #expect(ConsoleRelayPolicy.endpoint(method: method, path: path) == nil)
        let response = Self.nowhere.respond(to: ConsoleRequests.make(method, "/console/api" + path), path: path)
        #expect(response.status == 403)
        #expect(ConsoleRequests.errorCode(response) == "not_allowed")
    }

    @Test func runIDsAreStrict() {
        #expect(ConsoleRelayPolicy.isValidRunID("trun_" + String(repeating: "a", count: 64)))
        #expect(!ConsoleRelayPolicy.isValidRunID("trun_" + String(repeating: "a", count: 65)))
        for bad in ["", "trun_", "TRUN_abc", "trun_é", "trun_abc\n", "trun_abc def", "xtrun_abc"] {
            #expect(!ConsoleRelayPolicy.isValidRunID(bad), "\(bad)")
        }
    }

    @Test func crossSiteCallsAreRefused() {
        let cases: [Request] = [
            ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_a", csrf: false),
            ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_a", headers: [("Origin", "https://evil.example")]),
            ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_a", headers: [("Sec-Fetch-Site", "cross-site")]),
            ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_a", headers: [("Origin", "http://localhost:8443")]),
        ]
        for request in cases {
            let response = Self.nowhere.respond(to: request, path: "/v1/tasks/runs/trun_a")
            #expect(response.status == 403)
            #expect(ConsoleRequests.errorCode(response) == "csrf_failed")
        }
    }

    @Test func theKeyHeaderIsRequiredAndMustLookLikeAKey() {
        let missing = Self.nowhere.respond(
            to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_a", key: nil), path: "/v1/tasks/runs/trun_a")
        #expect(missing.status == 401)
        #expect(ConsoleRequests.errorCode(missing) == "key_missing")
        for bad in ["short", "has space in it", "line\r\nX-Evil: 1", String(repeating: "k", count: 513), "ключ-ключ-ключ"] {
            let response = Self.nowhere.respond(
                to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_a", key: bad), path: "/v1/tasks/runs/trun_a")
            #expect(response.status == 400)
            #expect(ConsoleRequests.errorCode(response) == "key_invalid")
        }
    }

    static func create(_ body: String, contentType: String? = nil) -> Response {
        var request = ConsoleRequests.make("POST", "/console/api/v1/tasks/runs", body: body)
        if let contentType { request.headers["Content-Type"] = contentType }
        return nowhere.respond(to: request, path: "/v1/tasks/runs")
    }

    @Test func createBodiesAreLimitedAndValidated() {
        let big = #"{"input":""# + String(repeating: "x", count: 300 * 1024) + #"","processor":"lite"}"#
        #expect(Self.create(big).status == 413)
        #expect(Self.create("not json").status == 400)
        #expect(Self.create("[1,2]").status == 400)
        #expect(Self.create(#"{"input":"x","processor":"lite"}"#, contentType: "text/plain").status == 415)
        let invalid: [(String, String)] = [
            (#"{"processor":"lite"}"#, "input"),
            (#"{"input":"   ","processor":"lite"}"#, "input"),
            (#"{"input":"x","processor":"mega"}"#, "processor"),
            (#"{"input":"x","processor":"lite","metadata":{"seventeen_chars_k":"v"}}"#, "metadata"),
            (#"{"input":"x","processor":"lite","metadata":{"k":"\#(String(repeating: "v", count: 513))"}}"#, "metadata"),
            (#"{"input":"x","processor":"lite","metadata":{"k":{"nested":1}}}"#, "metadata"),
            (#"{"input":"x","processor":"lite","webhook":{"url":"javascript:alert(1)"}}"#, "webhook.url"),
            (#"{"input":"x","processor":"lite","source_policy":{"include_domains":"a.com"}}"#, "source_policy.include_domains"),
            (#"{"input":"x","processor":"lite","mcp_servers":[]}"#, "mcp_servers"),
            (#"{"input":"x","processor":"lite","enable_events":"yes"}"#, "enable_events"),
        ]
        for (body, field) in invalid {
            let response = Self.create(body)
            #expect(response.status == 422, "\(body)")
            let fields = (ConsoleRequests.json(response)["error"] as? [String: Any])?["fields"] as? [String: String]
            #expect(fields?[field] != nil, "\(body) → \(fields ?? [:])")
        }
        // Exactly at the limits is fine (and then the unreachable upstream answers 502).
        let edge = #"{"input":"x","processor":"ultra8x-fast","metadata":{"sixteen_chars_k!":"\#(String(repeating: "v", count: 512))","n":3,"b":true}}"#
        #expect(Self.create(edge).status == 502)
    }

    @Test func betaHeadersFollowTheBody() throws {
        #expect(try ConsoleRelayPolicy.validateCreateBody(Array(#"{"input":"x","processor":"pro"}"#.utf8))
            == ["events-sse-2025-07-24"])
        #expect(try ConsoleRelayPolicy.validateCreateBody(
            Array(#"{"input":{"a":1},"processor":"pro","webhook":{"url":"https://h.example/x"}}"#.utf8))
            == ["events-sse-2025-07-24", "webhook-2025-08-12"])
    }

    @Test func resultTimeoutIsClamped() {
        #expect(ConsoleRelayPolicy.resultTimeout(query: "") == 5)
        #expect(ConsoleRelayPolicy.resultTimeout(query: "timeout=3600") == 30)
        #expect(ConsoleRelayPolicy.resultTimeout(query: "timeout=0") == 1)
        #expect(ConsoleRelayPolicy.resultTimeout(query: "timeout=abc") == 5)
    }

    @Test func eventBoundariesForHeartbeats() {
        #expect(ConsoleRelay.endsEvent(Array("x\n\n".utf8)))
        #expect(ConsoleRelay.endsEvent(Array("x\r\n\r\n".utf8)))
        #expect(ConsoleRelay.endsEvent(Array("x\r\r".utf8)))
        #expect(!ConsoleRelay.endsEvent(Array("data: {\n".utf8)))
        #expect(!ConsoleRelay.endsEvent(Array("\r\n".utf8)))
        let event = String(decoding: ConsoleRelay.errorEvent("gone <b>", tail: Array("data: x".utf8)), as: UTF8.self)
        #expect(event.hasPrefix("\n\nevent: error\ndata: {"))
        #expect(event.hasSuffix("}\n\n"))
    }

    @Test func pkceVerifierShapes() {
        #expect(ConsoleOAuth.isVerifier(String(repeating: "a", count: 43)))
        #expect(ConsoleOAuth.isVerifier(String(repeating: "-._~", count: 32)))
        #expect(!ConsoleOAuth.isVerifier(String(repeating: "a", count: 42)))
        #expect(!ConsoleOAuth.isVerifier(String(repeating: "a", count: 129)))
        #expect(!ConsoleOAuth.isVerifier(String(repeating: "a", count: 42) + "+"))
        #expect(ConsoleOAuth.sameOrigin("https://p.example/getKeys/token", "https://p.example"))
        #expect(ConsoleOAuth.sameOrigin("https://p.example:443/x", "https://P.example"))
        #expect(!ConsoleOAuth.sameOrigin("https://evil.example/token", "https://p.example"))
        #expect(!ConsoleOAuth.sameOrigin("http://p.example/token", "https://p.example"))
        #expect(!ConsoleOAuth.sameOrigin("https://p.example:8443/token", "https://p.example"))
    }

    @Test func processorTableCoversEveryProcessor() {
        #expect(ConsoleProcessor.all.map(\.name) == AppConfiguration.processors)
        #expect(ConsoleProcessor.all.first { $0.name == "lite" }?.pricePerThousand == 5)
        #expect(ConsoleProcessor.all.first { $0.name == "ultra8x-fast" }?.pricePerThousand == 2400)
    }
}
