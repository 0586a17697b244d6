import Foundation
import Testing
@testable import ParallelAPI

private func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(text.utf8))
}

@Suite("Decoding the upstream-api.md examples")
struct DecodingTests {
    @Test func createRequestRoundTrips() throws {
        let input = try decode(RunInput.self, Fixtures.createRequest)
        #expect(input.processor == "ultra2x")
        guard case .text(let question) = input.input else { Issue.record("input should be text"); return }
        #expect(question.hasPrefix("Industry: cold-chain logistics\nRegion: EU"))
        #expect(input.taskSpec?.outputSchema == .text(description: "Analyst-grade markdown report with sections and inline citations"))
        #expect(input.enableEvents == true)
        #expect(input.metadata?["report_id"] == "rpt_8812")
        #expect(input.sourcePolicy?.excludeDomains == ["reddit.com"])
        #expect(input.sourcePolicy?.afterDate == "2024-01-01")
        #expect(input.webhook == Webhook(url: "https://app.example.com/hooks/parallel"))
        // Encoding gives back the same JSON document, with the wire names.
        let encoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(input))
        #expect(encoded == (try JSONValue.parse(Fixtures.createRequest)))
    }

    @Test func nilFieldsAreLeftOutAndObjectInputsStayObjects() throws {
        let input = RunInput(input: .json(["company_name": "Acme"]), processor: "core",
                             taskSpec: TaskSpec(outputSchema: .json(["type": "object", "properties": [:]])))
        let json = try JSONValue.parse(String(decoding: JSONEncoder().encode(input), as: UTF8.self))
        #expect(json["input"] == ["company_name": "Acme"])
        #expect(json["task_spec"]?["output_schema"]?["type"] == "json")
        #expect(json["task_spec"]?["output_schema"]?["json_schema"]?["type"] == "object")
        #expect(json["metadata"] == nil && json["webhook"] == nil && json["enable_events"] == nil)
    }

    @Test func bareStringSchemaIsText() throws {
        let spec = try decode(TaskSpec.self, #"{"output_schema":"A short answer"}"#)
        #expect(spec.outputSchema == .text(description: "A short answer"))
        let auto = try decode(TaskSpec.self, #"{"output_schema":{"type":"auto"}}"#)
        #expect(auto.outputSchema == .auto)
        let untyped = try decode(TaskSpec.self, #"{"output_schema":{"json_schema":{"type":"object"}}}"#)
        #expect(untyped.outputSchema == .json(["type": "object"]))
    }

    @Test func createResponse() throws {
        let run = try decode(TaskRun.self, Fixtures.createResponse)
        #expect(run.runID == "trun_4be1d0c2a7f94b9c8e1f2a3b4c5d6e7f")
        #expect(run.interactionID == run.runID)
        #expect(run.status == .queued && run.isActive)
        #expect(run.taskgroupID == nil && run.error == nil && run.warnings == nil)
        #expect(run.metadata?["env"] == "prod")
        #expect(run.createdAt == "2026-01-10T09:00:00.104211Z")
    }

    @Test func failedRunCarriesTheReason() throws {
        let run = try decode(TaskRun.self, Fixtures.failedRun)
        #expect(run.status == .failed && !run.isActive && run.status.isTerminal)
        #expect(run.error == UpstreamError(refID: "c1f0a6d4-2b7e-4f0e-9a55-6d2f3b8e7a10", message: "Task execution failed",
                                           detail: nil))
    }

    @Test func unknownStatusesAndOldErrorShapesAreTolerated() throws {
        let run = try decode(TaskRun.self, #"""
            {"run_id":"trun_1","status":"paused_for_review","processor":"core",
             "error":{"message":"old shape","details":{"x":1}},"warnings":[{"type":"new_kind","message":"m"}]}
            """#)
        #expect(run.status == .unknown("paused_for_review"))
        #expect(!run.isActive)
        #expect(run.error?.message == "old shape" && run.error?.detail == ["x": 1])
        #expect(run.warnings?.first?.type == "new_kind")
        let inferred = try decode(TaskRun.self, #"{"run_id":"trun_2","status":"running"}"#)
        #expect(inferred.isActive)
    }

    @Test func textResult() throws {
        let result = try decode(TaskRunResult.self, Fixtures.textResult)
        #expect(result.run.status == .completed)
        #expect(result.output.text?.hasPrefix("# EU Cold-Chain Logistics Market") == true)
        let basis = try #require(result.output.basis.first)
        #expect(basis.field == "output" && basis.confidence == "high")
        #expect(basis.citations == [Citation(url: "https://example-industry.org/report-2025", title: "Cold chain outlook 2025",
                                             excerpts: ["The European cold chain market reached …"])])
    }

    @Test func jsonOutputAsObjectOrString() throws {
        let object = try decode(RunOutput.self, Fixtures.jsonOutput)
        #expect(object.json?["market_size_eur"] == "€52bn (2025)")
        #expect(object.json?["top_players"] == ["Lineage", "Americold"])
        #expect(object.basis.map(\.field) == ["market_size_eur", "top_players", "top_players.0"])
        #expect(object.basis[0].citations[0].title == nil && object.basis[0].citations[0].excerpts == nil)
        let string = try decode(RunOutput.self, Fixtures.jsonOutputAsString)
        #expect(string.json?["market_size_eur"] == "€52bn (2025)")
    }

    @Test func runEvents() throws {
        guard case .progressStats(let stats) = try RunEvent.decode(Fixtures.progressStats) else {
            Issue.record("stats"); return
        }
        #expect(stats.progressMeter == 37.5 && stats.numSourcesConsidered == 223 && stats.numSourcesRead == 22)
        #expect(stats.sourcesReadSample == ["https://example.org/a", "https://example.com/b"])

        guard case .state(let state) = try RunEvent.decode(Fixtures.completedStateEvent) else {
            Issue.record("state"); return
        }
        #expect(state.eventID == nil && state.input == nil && !state.run.isActive)
        #expect(state.output?.text == "# …")

        #expect(try RunEvent.decode(Fixtures.errorEvent)
            == .error(UpstreamError(refID: "0f9e…", message: "Upstream fetch failed", detail: nil)))
        #expect(try RunEvent.decode(Fixtures.planMessage)
            == .progressMessage(ProgressMessage(kind: "plan", message: "…", timestamp: "2026-01-10T09:00:04.512003Z")))
    }

    /// The monitoring loop reads every run's stream on one thread and leaves a finished report's output to the lane
    /// that stores it: the state is all there, the output is not decoded, and whether there was one is known.
    @Test func aStateEventsOutputCanBeLeftUndecoded() throws {
        guard case .state(let skipped) = try RunEvent.decode(Fixtures.completedStateEvent, skippingOutput: true) else {
            Issue.record("state"); return
        }
        #expect(skipped.output == nil && skipped.skippedOutput)
        #expect(skipped.run.status == .completed && !skipped.run.isActive)
        guard case .state(let whole) = try RunEvent.decode(Fixtures.completedStateEvent) else {
            Issue.record("state"); return
        }
        #expect(whole.output?.text == "# …" && !whole.skippedOutput)
        let withoutOutput = Fixtures.completedStateEvent.replacingOccurrences(
            of: ##""output":{"type":"text","content":"# …","basis":[]}"##, with: #""output":null"#)
        guard case .state(let none) = try RunEvent.decode(withoutOutput, skippingOutput: true) else {
            Issue.record("state"); return
        }
        #expect(none.output == nil && !none.skippedOutput && none.run.status == .completed)
    }

    /// A payload that is not JSON and a known type with a wrong body fail with different reasons.
    @Test func decodingFailuresSayWhatWasWrong() {
        func reason(_ payload: String) -> String? {
            do {
                _ = try RunEvent.decode(payload)
                return nil
            } catch {
                if case .decoding(let message) = error { return message }
                return "\(error)"
            }
        }
        #expect(reason("{not json") == "event payload is not a JSON object")
        #expect(reason("[1, 2]") == "event payload is not a JSON object")
        #expect(reason(#"{"type":"task_run.state","run":"nope"}"#) == "event task_run.state has an unexpected shape")
        #expect(reason(#"{"type":"error","error":7}"#) == "event error has an unexpected shape")
        #expect(reason(#"{"type":"task_run.progress_stats","progress_meter":"x"}"#)
            == "event task_run.progress_stats has an unexpected shape")
    }

    @Test func anyProgressKindAndUnknownTypesAreKept() throws {
        #expect(try RunEvent.decode(#"{"type":"task_run.progress_msg.reasoning","message":"thinking","timestamp":null}"#)
            == .progressMessage(ProgressMessage(kind: "reasoning", message: "thinking", timestamp: nil)))
        #expect(try RunEvent.decode(#"{"type":"task_run.brand_new","whatever":[1,2]}"#) == .unknown(type: "task_run.brand_new"))
        #expect(try RunEvent.decode(#"{"no_type":true}"#) == .unknown(type: ""))
        #expect(throws: ParallelError.self) { try RunEvent.decode("{not json") }
        #expect(throws: ParallelError.self) { try RunEvent.decode(#"{"type":"task_run.state","run":"nope"}"#) }
    }

    @Test func groups() throws {
        let group = try decode(TaskGroup.self, Fixtures.taskGroup)
        #expect(group.taskgroupID == "tgrp_9c1e0b7a5d3f4e2a8b6c" && group.metadata?["batch"] == "weekly")
        #expect(group.status.numTaskRuns == 3 && group.status.isActive)
        #expect(group.status.count(.running) == 1 && group.status.count(.failed) == 0)

        let added = try decode(TaskGroupRunResponse.self, Fixtures.groupRunResponse)
        #expect(added.runIDs.count == 2 && added.eventCursor == "…or null" && added.status.numTaskRuns == 3)

        guard case .state(let state) = try RunEvent.decode(Fixtures.groupRunsEvent) else { Issue.record("state"); return }
        #expect(state.eventID == "1842")
        #expect(state.input?.input == .json(["company_name": "Acme"]))
        #expect(state.input?.metadata?["row"] == "17")
        #expect(state.run.taskgroupID == "tgrp_…")
        #expect(state.output?.json?["hq"] == "Berlin")

        let statusEvent = #"{"type":"task_group_status","event_id":"7","status":{"num_task_runs":2,"is_active":false}}"#
        guard case .groupStatus(let eventID, let status) = try RunEvent.decode(statusEvent) else {
            Issue.record("group status"); return
        }
        #expect(eventID == "7" && !status.isActive && status.taskRunStatusCounts.isEmpty)
    }

    @Test func webhookDataIsARun() throws {
        struct Delivery: Decodable { var type: String; var data: TaskRun }
        let delivery = try decode(Delivery.self, Fixtures.webhookBody)
        #expect(delivery.type == "task_run.status" && delivery.data.status == .completed)
    }

    @Test func chat() throws {
        let request = ChatCompletionRequest(
            model: "speed",
            messages: [ChatMessage(role: "system", content: "You validate inputs for a market-research site."),
                       ChatMessage(role: "user", content: "Industry: cold-chain logistics\nGeography: EU\nDetails: ")],
            responseFormat: .jsonSchema(name: "validation", schema: [
                "type": "object", "additionalProperties": false,
                "properties": ["is_valid": ["type": "boolean"], "reasoning": ["type": "string"],
                               "issues_found": ["type": "array", "items": ["type": "string"]]],
                "required": ["is_valid", "reasoning", "issues_found"],
            ]))
        let encoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(request))
        #expect(encoded == (try JSONValue.parse(Fixtures.chatRequest)))

        let response = try decode(ChatCompletion.self, Fixtures.chatResponse)
        #expect(response.created == 1767225600 && response.basis.isEmpty && response.interactionID == "…")
        let verdict = try response.contentJSON()
        #expect(verdict["is_valid"] == true && verdict["reasoning"] == "Real industry" && verdict["issues_found"] == [])
    }
}
