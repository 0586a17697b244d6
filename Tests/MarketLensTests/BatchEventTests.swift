import Foundation
import ParallelAPI
import Testing
@testable import MarketLens

@Suite struct BatchEventTests {
    func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    func keys(_ json: String) -> [String] {
        // Top-level keys in their written order (the seed's order).
        var keys: [String] = []
        var depth = 0, inString = false, escaped = false, current = "", expectingKey = false
        for character in json {
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" {
                    inString = false
                    if expectingKey && depth == 1 { keys.append(current) }
                } else { current.append(character) }
                continue
            }
            switch character {
            case "\"": inString = true; current = ""
            case "{", "[": depth += 1; expectingKey = character == "{"
            case "}", "]": depth -= 1
            case ",": expectingKey = depth == 1
            case ":": expectingKey = false
            default: break
            }
        }
        return keys
    }

    @Test func frameMatchesTheSeedLayout() throws {
        let frame = BatchStreamer.frame(event: "heartbeat", json: BatchPayload.Connection(message: "Connection alive"),
                                        type: .heartbeat)
        #expect(frame.hasPrefix("event: heartbeat\ndata: {\"timestamp\":"))
        #expect(frame.hasSuffix(",\"message\":\"Connection alive\"}\n\n"))
        let connected = BatchStreamer.frame(event: "connected", json: BatchPayload.Connection(message: "Research pipeline connected"))
        #expect(connected.hasPrefix("event: connected\ndata: {\"message\":\"Research pipeline connected\",\"timestamp\":"))
    }

    @Test func storedPayloadsComeOutInTheSeedsKeyOrderAndCompact() throws {
        let members = [
            "timestamp": "1709856032.456", "technologies": "[\"tensorflow\", \"python\"]", "type": "\"domain_analyzed\"",
            "total": "2", "progress": "1", "evidence_count": "23", "confidence": "0.92", "domain": "\"stripe.com\"",
            "status": "\"completed\"",
        ]
        let json = BatchStore.orderedJSON(members, type: "domain_analyzed")
        #expect(json == """
            {"type":"domain_analyzed","domain":"stripe.com","confidence":0.92,"evidence_count":23,\
            "technologies":["tensorflow","python"],"progress":1,"total":2,"timestamp":1709856032.456,"status":"completed"}
            """)
    }

    @Test func minifyingKeepsSpacesInsideStrings() {
        #expect(BatchStore.minified(#"{"a": "x, y: \"z\"", "b": [1, 2]}"#) == #"{"a":"x, y: \"z\"","b":[1,2]}"#)
    }

    @Test func pipelineCompleteHasTheSeedFieldsAndTypes() throws {
        let result = DomainResult(domain: "stripe.com", status: "completed", matches: true, confidence: 0.92,
                                  evidenceCount: 1, technologies: ["python"],
                                  evidence: [Evidence(url: "https://stripe.com/blog", title: "Blog", excerpt: "AI")],
                                  summary: "Yes.", error: nil, runID: "trun_1")
        let low = DomainResult(domain: "paypal.com", status: "completed", matches: false, confidence: 0.5,
                               evidenceCount: 0, technologies: [], evidence: [], summary: nil, error: nil, runID: "trun_2")
        let failed = DomainResult(domain: "x.com", status: "failed", matches: nil, confidence: 0, evidenceCount: 0,
                                  technologies: [], evidence: [], summary: nil, error: "Task execution failed", runID: "trun_3")
        let report = BatchReport(results: [result, low, failed], threshold: 0.7, elapsed: 4, upstreamErrors: 2)
        #expect(report.summary == BatchPayload.Summary(totalDomains: 3, domainsAnalyzed: 2, highConfidenceMatches: 1,
                                                       avgConfidence: 0.71, totalEvidence: 1, processingTime: 4))
        #expect(report.metrics == BatchPayload.Metrics(queriesPerSecond: 0.5, failedRequests: 3))
        #expect(report.highConfidence.map(\.domain) == ["stripe.com"])

        let payload = BatchPayload.PipelineComplete(summary: report.summary, results: [result, low, failed],
                                                    highConfidenceResults: report.highConfidence, metrics: report.metrics)
        let json = BatchStreamer.orderedJSON(BatchPayload.Completed(totalEvents: 12), type: .completed)
        #expect(keys(json) == ["message", "total_events", "timestamp"])
        let encoded = try object(String(decoding: try JSONEncoder().encode(payload), as: UTF8.self))
        #expect(Set(encoded.keys) == ["type", "message", "summary", "results", "high_confidence_results", "metrics", "timestamp"])
        let summary = try #require(encoded["summary"] as? [String: Any])
        #expect(Set(summary.keys) == ["total_domains", "domains_analyzed", "high_confidence_matches", "avg_confidence",
                                      "total_evidence", "processing_time"])
        let metrics = try #require(encoded["metrics"] as? [String: Any])
        #expect(Set(metrics.keys) == ["queries_per_second", "failed_requests"])
    }

    @Test func everyStoredEventHasItsSeedFields() throws {
        let cases: [(BatchEventType, any Encodable, Set<String>)] = [
            (.pipelineStart, BatchPayload.PipelineStart(domains: ["a.com"], totalStrategies: 1, batchID: "bat_x"),
             ["type", "message", "domains", "total_strategies", "timestamp", "batch_id"]),
            (.evidenceProgress, BatchPayload.EvidenceProgress(progress: 25, completed: 1, total: 4, domainsWithEvidence: 1),
             ["type", "progress", "completed", "total", "domains_with_evidence", "timestamp"]),
            (.evidenceComplete, BatchPayload.EvidenceComplete(totalEvidence: 3, domainsWithEvidence: 1),
             ["type", "message", "total_evidence", "domains_with_evidence", "timestamp"]),
            (.analysisStart, BatchPayload.AnalysisStart(domainsToAnalyze: 2),
             ["type", "message", "domains_to_analyze", "timestamp"]),
            (.completed, BatchPayload.Completed(totalEvents: 12), ["message", "total_events", "timestamp"]),
            (.error, BatchPayload.ErrorEvent(message: "m", recoverable: true), ["message", "recoverable", "timestamp"]),
            (.streamError, BatchPayload.StreamError(error: "API key invalid"), ["message", "error", "timestamp"]),
        ]
        for (type, payload, expected) in cases {
            let encoded = try object(String(decoding: try JSONEncoder().encode(payload), as: UTF8.self))
            #expect(Set(encoded.keys) == expected, "\(type)")
            #expect(encoded["timestamp"] is Double, "\(type)")
            if expected.contains("type") { #expect(encoded["type"] as? String == type.rawValue) }
        }
    }

    @Test func analysisKeepsOnlyWebURLsAndClampsConfidence() {
        let output = RunOutput(
            content: .json(.object([
                "matches_goal": true, "match_confidence": 1.7, "technologies": ["TensorFlow", " tensorflow ", "Kafka"],
                "evidence_items": [
                    .object(["source_url": "javascript:alert(1)", "finding": "x"]),
                    .object(["source_url": "https://stripe.com/radar", "finding": "Radar uses ML"]),
                ],
                "summary": "Yes.",
            ])),
            basis: [FieldBasis(field: "technologies", citations: [
                Citation(url: "https://stripe.com/radar", title: "dup"), Citation(url: "https://news.example/ai", title: "AI"),
                Citation(url: "data:text/html,x"),
            ])])
        let analysis = BatchResearchSpec.analyse(output)
        #expect(analysis.confidence == 1)
        #expect(analysis.matches == true)
        #expect(analysis.technologies == ["tensorflow", "kafka"])
        #expect(analysis.evidence.map(\.url) == ["https://stripe.com/radar", "https://news.example/ai"])
    }

    @Test func simFaultHookOnlyForTheReservedTestDomain() {
        #expect(BatchWork.simFault(for: "run-failed.sim.test") == "run_failed")
        #expect(BatchWork.simFault(for: "stripe.com") == nil)
        #expect(BatchWork.simFault(for: "sim.test.com") == nil)
    }
}
