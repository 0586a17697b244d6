import Foundation
import HTTPClient
import Testing
import TestSupport
import Web
@testable import MarketLens

/// The relay against a real `upstream-sim` with a distinctive key: what goes upstream, what comes back, what is
/// logged (never the key), and that a departed viewer really stops the upstream read.
@Suite(.enabled(if: ConsoleSim.available, "upstream-sim not built (swift build --product upstream-sim)"))
struct ConsoleRelayTests {
    @Test func createGetAndFollowARunWithoutLoggingTheKey() throws {
        let sim = try ConsoleSim()
        let logs = LogCapture()
        let relays = ConsoleRelayThread()
        var relay = ConsoleRelay(baseURL: sim.url, logger: logs.logger)
        relay.streams = relays.streams
        let body = #"""
            {"input":"EU cold-chain logistics market","processor":"lite","enable_events":true,
             "task_spec":{"output_schema":{"type":"json","json_schema":{"type":"object","properties":{"size":{"type":"string"}},"required":["size"],"additionalProperties":false}}},
             "source_policy":{"include_domains":["europa.eu"],"exclude_domains":["reddit.com"]},
             "metadata":{"sim_duration":2},"webhook":{"url":"http://127.0.0.1:9/hook","event_types":["task_run.status"]}}
            """#
        let created = relay.respond(
            to: ConsoleRequests.make("POST", "/console/api/v1/tasks/runs", key: sim.apiKey, body: body),
            path: "/v1/tasks/runs")
        #expect(created.status == 202)
        let run = ConsoleRequests.json(created)
        let id = try #require(run["run_id"] as? String)
        #expect(ConsoleRelayPolicy.isValidRunID(id))

        let fetched = relay.respond(
            to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/\(id)", key: sim.apiKey),
            path: "/v1/tasks/runs/\(id)")
        #expect(fetched.status == 200)
        #expect(ConsoleRequests.json(fetched)["run_id"] as? String == id)
        #expect(fetched.headers["Cache-Control"] == "no-store")

        let events = relay.respond(
            to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/\(id)/events", key: sim.apiKey),
            path: "/v1/tasks/runs/\(id)/events")
        #expect(events.status == 200)
        #expect(events.headers["Content-Type"]?.hasPrefix("text/event-stream") == true)
        guard case .stream(let produce) = events.body else {
            Issue.record("the events answer is not a stream")
            return
        }
        let writer = ConsoleRecordingWriter()
        try produce(writer)
        #expect(relays.hub.openStreams == 1, "the relay left the request thread and holds one stream slot")
        #expect(relays.waitUntilIdle(timeout: 30))
        // The whole run, to its terminal state with the JSON output.
        #expect(writer.text.contains("event: task_run.state"))
        #expect(writer.text.contains(#""status":"completed""#))
        #expect(writer.text.contains(#""type":"json""#))

        let input = relay.respond(
            to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/\(id)/input", key: sim.apiKey),
            path: "/v1/tasks/runs/\(id)/input")
        #expect(input.status == 200)
        #expect((ConsoleRequests.json(input)["source_policy"] as? [String: Any])?["include_domains"] as? [String] == ["europa.eu"])
        let result = relay.respond(
            to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/\(id)/result?timeout=600", key: sim.apiKey),
            path: "/v1/tasks/runs/\(id)/result")
        #expect(result.status == 200)

        // Upstream saw the key as x-api-key, the beta headers, and nothing of the browser's own headers.
        let log = try sim.control("GET", "/requests?api=parallel&path=/v1/tasks/runs")
        let requests = try #require(log["requests"] as? [[String: Any]])
        #expect(requests.count >= 5)
        let suffix = String(sim.apiKey.suffix(4))
        for request in requests {
            let headers = (request["headers"] as? [String: Any]) ?? [:]
            let lower = Dictionary(headers.map { ($0.key.lowercased(), "\($0.value)") }) { a, _ in a }
            #expect(lower["x-api-key"]?.contains("last4:\(suffix)") == true, "\(lower)")
            #expect(lower["x-parallel-key"] == nil && lower["x-requested-with"] == nil && lower["origin"] == nil)
        }
        let create = try #require(requests.first { $0["method"] as? String == "POST" })
        let createHeaders = (create["headers"] as? [String: Any]).map { Dictionary($0.map { ($0.key.lowercased(), "\($0.value)") }) { a, _ in a } }
        #expect(createHeaders?["parallel-beta"] == "events-sse-2025-07-24,webhook-2025-08-12")
        let resultQuery = requests.first { ($0["path"] as? String)?.hasSuffix("/result") == true }?["query"]
        #expect((resultQuery as? [String: Any])?["timeout"] as? String == "30", "clamped from 600")

        #expect(logs.lines.count >= 5, "the relay logs each call (without the key)")
        for line in logs.lines { #expect(!line.contains(sim.apiKey), "leak: \(line)") }
    }

    @Test func upstreamErrorsPassThroughWithTheirReferenceAndNoKey() throws {
        let sim = try ConsoleSim()
        let logs = LogCapture()
        let relay = ConsoleRelay(baseURL: sim.url, logger: logs.logger)
        let wrongKey = "wrong-key-" + UUID().uuidString
        let refused = relay.respond(
            to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_0000", key: wrongKey),
            path: "/v1/tasks/runs/trun_0000")
        #expect(refused.status == 401)
        let unknown = relay.respond(
            to: ConsoleRequests.make("GET", "/console/api/v1/tasks/runs/trun_0000/events", key: sim.apiKey),
            path: "/v1/tasks/runs/trun_0000/events")
        #expect(unknown.status == 404, "the stream is not opened for an unknown run")
        let error = try #require(ConsoleRequests.json(unknown)["error"] as? [String: Any])
        #expect((error["ref_id"] as? String)?.isEmpty == false)
        for line in logs.lines { #expect(!line.contains(wrongKey) && !line.contains(sim.apiKey), "leak: \(line)") }
    }

    /// Hands an event stream of `runID` (read from `url` when given) to a relay thread, as the request thread does.
    func relayEvents(_ relays: ConsoleRelayThread, _ relay: ConsoleRelay, runID: String, key: String, url: String? = nil,
                     to writer: ConsoleRecordingWriter) throws {
        try relays.streams.relay(relay.eventsRequest(runID: runID, key: key, url: url), client: "127.0.0.1", to: writer)
    }

    @Test func aDepartedViewerStopsTheUpstreamRead() throws {
        let sim = try ConsoleSim()
        let relays = ConsoleRelayThread()
        let relay = ConsoleRelay(baseURL: sim.url, logger: LogCapture().logger)
        let created = relay.respond(
            to: ConsoleRequests.make(
                "POST", "/console/api/v1/tasks/runs", key: sim.apiKey,
                body: #"{"input":"x","processor":"pro","metadata":{"sim_duration":3000}}"#),
            path: "/v1/tasks/runs")
        let id = try #require(ConsoleRequests.json(created)["run_id"] as? String)
        let writer = ConsoleRecordingWriter()
        writer.leaveWhen = { $0.contains("task_run.state") }
        let started = ContinuousClock.now
        try relayEvents(relays, relay, runID: id, key: sim.apiKey, to: writer)
        // The run lasts 30 s of real time at this scale; leaving must end the relay long before.
        #expect(relays.waitUntilIdle(timeout: 8))
        #expect(started.duration(to: .now) < .seconds(8))
        #expect(writer.text.contains("task_run.state"))
    }

    @Test func aQuietStreamGetsHeartbeatsAndNoticesTheViewerLeaving() throws {
        let server = try TestHTTPServer.shared()
        let relays = ConsoleRelayThread(heartbeatSeconds: 1)
        let relay = ConsoleRelay(baseURL: server.baseURL, logger: LogCapture().logger)
        let writer = ConsoleRecordingWriter()
        writer.leaveWhen = { $0.components(separatedBy: ": keep-alive").count > 3 }
        let started = ContinuousClock.now
        // `/stall` sends its head and one comment, then nothing for 60 s.
        try relayEvents(relays, relay, runID: "trun_x", key: "k-12345678", url: server.url("/stall?for=60"), to: writer)
        #expect(relays.waitUntilIdle(timeout: 15))
        #expect(started.duration(to: .now) < .seconds(15))
        #expect(writer.text.contains(": keep-alive\n\n"))
    }

    @Test func aStreamCutByUpstreamEndsWithARelayErrorEvent() throws {
        let server = try TestHTTPServer.shared()
        let relays = ConsoleRelayThread()
        let relay = ConsoleRelay(baseURL: server.baseURL, logger: LogCapture().logger)
        let writer = ConsoleRecordingWriter()
        try relayEvents(relays, relay, runID: "trun_x", key: "k-12345678", url: server.url("/status/503"), to: writer)
        #expect(relays.waitUntilIdle(timeout: 15))
        #expect(writer.text.contains("event: error"))
        #expect(writer.text.contains(#""relay":true"#))
    }
}
