import Foundation
import HTTPClient
import Testing
import TestSupport
@testable import ResendAPI

/// `ResendClient.sendBatch` against upstream-sim's `POST /emails/batch`.
@Suite("ResendAPI batches against upstream-sim",
       .enabled(if: ResendSim.available, "upstream-sim not found: build it or set UPSTREAM_SIM_BIN; MARKETLENS_REQUIRE_SIM=1 makes this a failure"))
struct ResendBatchTests {
    static func messages(_ count: Int, badAt bad: Int? = nil) -> [EmailMessage] {
        (0..<count).map { index in
            EmailMessage(from: "Market Research <updates@example.app>",
                         to: [index == bad ? "not-an-address" : "reader\(index)@example.org"],
                         subject: "Report \(index) is ready", html: "<p>Ready</p>", text: "Ready",
                         headers: ["X-Entity-Ref-ID": "report-ready/rpt_\(index)"])
        }
    }

    @Test func aBatchGivesOneIDPerMessageInOrder() throws {
        let sim = try ResendSim()
        let result = try sim.client().sendBatch(Self.messages(3), idempotencyKey: "email-batch/1")
        #expect(result.errors.isEmpty)
        let outbox = try #require(try sim.control("GET", "/outbox")["emails"] as? [[String: Any]])
        #expect(outbox.map { $0["id"] as? String } == (0..<3).map { result.ids[$0] })
        #expect(outbox.map { ($0["email"] as? [String: Any])?["subject"] as? String } == (0..<3).map { "Report \($0) is ready" })
    }

    @Test func anInvalidMessageIsRefusedAloneAndTheOthersAreSent() throws {
        let sim = try ResendSim()
        let result = try sim.client().sendBatch(Self.messages(4, badAt: 2), idempotencyKey: "email-batch/2")
        #expect(Set(result.ids.keys) == [0, 1, 3])
        #expect(result.errors.keys.sorted() == [2])
        #expect(!(result.errors[2] ?? "").contains("not-an-address"))
        #expect(try sim.outboxCount() == 3)
    }

    @Test func aTimedOutBatchSentAgainUnderItsKeyIsNotSentTwice() throws {
        let sim = try ResendSim()
        _ = try sim.control("POST", "/faults", body: #"{"endpoint":"resend","fault":"lost_answer","mode":"timeout","seconds":"3","count":1}"#)
        let impatient = try ResendClient(configuration: ResendConfiguration(baseURL: sim.resendURL, apiKey: ResendSim.key,
                                                                          timeout: 1, maxRetries: 0))
        #expect(throws: ResendError.self) {
            try impatient.sendBatch(Self.messages(5), idempotencyKey: "email-batch/3")
        }
        #expect(try sim.outboxCount() == 5)
        let again = try impatient.sendBatch(Self.messages(5), idempotencyKey: "email-batch/3")
        let outbox = try #require(try sim.control("GET", "/outbox")["emails"] as? [[String: Any]])
        #expect(outbox.count == 5)
        #expect(outbox.map { $0["id"] as? String } == (0..<5).map { again.ids[$0] })
    }

    @Test func theBatchSizeIsCheckedBeforeSending() throws {
        let client = try ResendClient(configuration: ResendConfiguration(baseURL: "http://127.0.0.1:9", apiKey: "k"))
        #expect(throws: ResendError.self) { try client.sendBatch([]) }
        #expect(throws: ResendError.self) { try client.sendBatch(Self.messages(101)) }
    }

    @Test func aBatchAnswerIsReadByIndex() throws {
        let body = Array(#"{"data":[{"id":"a"},{"id":"b"}],"errors":[{"index":1,"message":"The `to` field is missing."}]}"#.utf8)
        let result = try BatchResult(decoding: body, count: 3)
        #expect(result.ids == [0: "a", 2: "b"])
        #expect(result.errors == [1: "The `to` field is missing."])
        #expect(throws: ResendError.self) { try BatchResult(decoding: body, count: 4) }
        #expect(throws: ResendError.self) { try BatchResult(decoding: Array(#"{"id":"x"}"#.utf8), count: 1) }
    }
}
