import Foundation
import HTTPClient
import Testing
@testable import ParallelAPI

/// The client against a scripted server on a real loopback socket: what goes on the wire and how answers map.
@Suite("ParallelClient over a scripted server")
struct ClientTests {
    static let key = "test-parallel-key-0001"
    static let runJSON = #"{"run_id":"trun_1","interaction_id":"trun_1","status":"queued","is_active":true,"processor":"lite"}"#
    static let error500 = #"{"type":"error","error":{"ref_id":"ref-500","message":"boom","detail":null}}"#

    func client(_ server: ScriptedServer, createTimeout: Double = 10) throws -> ParallelClient {
        let client = try ParallelClient(configuration: ParallelConfiguration(
            baseURL: server.baseURL + "/", apiKey: Self.key, requestTimeout: 10, createTimeout: createTimeout))
        client.sleep = { _ in }
        return client
    }

    func input(webhook: Bool = false) -> RunInput {
        RunInput(input: .text("Industry: x"), processor: "lite", metadata: ["report_id": "rpt_1"],
                 webhook: webhook ? Webhook(url: "https://example.com/hook") : nil, enableEvents: true)
    }

    @Test func createRetriesA429AndSendsTheWireFormat() throws {
        let server = try ScriptedServer([
            .init(status: 429, headers: [("retry-after", "1")], body: #"{"type":"error","error":{"ref_id":"q","message":"quota"}}"#),
            .init(status: 202, body: Self.runJSON),
        ])
        defer { server.stop() }
        let run = try client(server).createRun(input(webhook: true))
        #expect(run.runID == "trun_1" && run.status == .queued)
        let requests = server.requests
        #expect(requests.count == 2)
        let first = try #require(requests.first)
        #expect(first.method == "POST" && first.target == "/v1/tasks/runs")
        #expect(first.headers["x-api-key"] == Self.key)
        #expect(first.headers["content-type"] == "application/json")
        #expect(first.headers["parallel-beta"] == "events-sse-2025-07-24,webhook-2025-08-12")
        let body = try JSONValue.parse(first.body)
        #expect(body["metadata"]?["report_id"] == "rpt_1" && body["enable_events"] == true)
        #expect(body["webhook"]?["event_types"] == ["task_run.status"])
    }

    @Test func createIsNeverRetriedAfterA500() throws {
        let server = try ScriptedServer([.init(status: 500, body: Self.error500), .init(status: 202, body: Self.runJSON)])
        defer { server.stop() }
        #expect {
            try client(server).createRun(input())
        } throws: { error in
            guard case .createUncertain(.api(500, "ref-500", "boom", _)) = error as? ParallelError else { return false }
            return true
        }
        #expect(server.requests.count == 1)
    }

    @Test func createTimeoutAfterSendingIsUncertain() throws {
        let server = try ScriptedServer([.init(status: 202, body: Self.runJSON, delay: 2)])
        defer { server.stop() }
        #expect {
            try client(server, createTimeout: 0.5).createRun(input())
        } throws: { error in
            guard case .createUncertain(.transport(let transport)) = error as? ParallelError else { return false }
            return transport.kind == .timedOut && !transport.requestNotSent
        }
        #expect(server.requests.count == 1)
    }

    @Test func authFailureIsTypedAndNotRetried() throws {
        let server = try ScriptedServer([.init(status: 401, body: #"{"type":"error","error":{"ref_id":"a","message":"Invalid API key"}}"#)])
        defer { server.stop() }
        #expect {
            try client(server).retrieveRun("trun_1")
        } throws: { error in
            guard case .api(401, "a", "Invalid API key", false) = error as? ParallelError else { return false }
            return true
        }
        #expect(server.requests.count == 1)
    }

    @Test func idempotentCallsRetryTwiceThenReportAnHTMLBody() throws {
        let html = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        let server = try ScriptedServer([.init(status: 503, headers: [("Content-Type", "text/html")], body: html)])
        defer { server.stop() }
        #expect {
            try client(server).retrieveRun("trun_1")
        } throws: { error in
            guard case .api(503, nil, "503 Service Unavailable", true) = error as? ParallelError else { return false }
            return true
        }
        #expect(server.requests.count == 3)
        #expect(server.requests.allSatisfy { $0.target == "/v1/tasks/runs/trun_1" && $0.method == "GET" })
    }

    @Test func resultMapsStillActiveAndNotFound() throws {
        let server = try ScriptedServer([
            .init(status: 408, body: #"{"type":"error","error":{"ref_id":"t","message":"Request timed out; run still active"}}"#),
            .init(status: 404, body: #"{"type":"error","error":{"ref_id":"n","message":"Run failed or run id not found"}}"#),
        ])
        defer { server.stop() }
        let client = try client(server)
        #expect(throws: ParallelError.self) { try client.result(runID: "trun_1", timeout: 5) }
        do {
            _ = try client.result(runID: "trun_1", timeout: 5)
            Issue.record("404 must throw")
        } catch {
            guard case .notFoundOrFailed("n", "Run failed or run id not found") = error else {
                Issue.record("unexpected \(error)"); return
            }
        }
        #expect(server.requests.map(\.target) == ["/v1/tasks/runs/trun_1/result?timeout=5",
                                                  "/v1/tasks/runs/trun_1/result?timeout=5"])
        // Exactly one request each: 408 and 404 go back to the caller.
        #expect(server.requests.count == 2)
    }

    @Test func runEventsStreamIsDecodedAndNon200IsAnError() throws {
        let sse = "event: task_run.state\r\ndata: {\"type\":\"task_run.state\",\"event_id\":null,\"input\":null,\"run\":"
            + Self.runJSON + ",\"output\":null}\r\n\r\n: comment\n"
            + "data: {broken\n\n"
            + "event: task_run.progress_msg.plan\ndata: " + Fixtures.planMessage.replacingOccurrences(of: "\n", with: "") + "\n\n"
        let server = try ScriptedServer([
            .init(status: 200, headers: [("Content-Type", "text/event-stream")], body: sse),
            .init(status: 404, body: #"{"type":"error","error":{"ref_id":"x","message":"Run id not found"}}"#),
        ])
        defer { server.stop() }
        let client = try client(server)
        var events: [RunEvent] = []
        let end = try client.runEvents(runID: "trun_1") { events.append($0); return true }
        #expect(end == .closed)
        #expect(events.count == 2)
        guard case .state(let state) = events.first, case .progressMessage(let message) = events.last else {
            Issue.record("unexpected events \(events)"); return
        }
        #expect(state.run.runID == "trun_1" && message.kind == "plan")
        let request = try #require(server.requests.first)
        #expect(request.target == "/v1/tasks/runs/trun_1/events")
        #expect(request.headers["accept"] == "text/event-stream")
        #expect(request.headers["parallel-beta"] == "events-sse-2025-07-24")
        #expect {
            try client.runEvents(runID: "trun_1") { _ in true }
        } throws: { error in
            guard case .api(404, "x", "Run id not found", false) = error as? ParallelError else { return false }
            return true
        }
    }

    @Test func chatUsesBearerAuth() throws {
        let server = try ScriptedServer([.init(status: 200, body: Fixtures.chatResponse)])
        defer { server.stop() }
        let answer = try client(server).chatCompletion(ChatCompletionRequest(
            model: "speed", messages: [ChatMessage(role: "user", content: "hi")], responseFormat: .jsonObject))
        #expect(try answer.contentJSON()["is_valid"] == true)
        let request = try #require(server.requests.first)
        #expect(request.target == "/chat/completions" && request.headers["authorization"] == "Bearer \(Self.key)")
        #expect(request.headers["x-api-key"] == nil)
        #expect(try JSONValue.parse(request.body)["response_format"] == ["type": "json_object"])
    }
}
