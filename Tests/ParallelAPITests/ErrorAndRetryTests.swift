import Foundation
import HTTPClient
import Testing
@testable import ParallelAPI

@Suite("Error bodies and retry decisions")
struct ErrorAndRetryTests {
    @Test func errorBodyShapes() {
        let canonical = ErrorBody.parse(Array(Fixtures.canonicalError.utf8), status: 404)
        #expect(canonical.refID == "5b0c2e5e-3f7e-4c61-9a43-0d7f1d2a9b11" && canonical.message == "Run id not found")
        let fastAPI = ErrorBody.parse(Array(Fixtures.fastAPIError.utf8), status: 422)
        #expect(fastAPI.refID == nil && fastAPI.message == "body.inputs.0.processor: Field required")
        #expect(ErrorBody.parse(Array(Fixtures.openAIError.utf8), status: 400).message == "…")
        #expect(ErrorBody.parse(Array(#"{"detail":"Not Found"}"#.utf8), status: 404).message == "Not Found")
        let html = "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502   Bad Gateway</h1></body></html>"
        #expect(ErrorBody.parse(Array(html.utf8), status: 502).message == "502 Bad Gateway 502 Bad Gateway")
        #expect(ErrorBody.parse([], status: 503).message == "HTTP 503 with an empty body")
        let huge = String(repeating: "x ", count: 5000)
        #expect(ErrorBody.parse(Array(huge.utf8), status: 500).message.count <= ErrorBody.rawLimit + 1)
    }

    @Test func apiKeyNeverInErrorDescriptions() throws {
        let key = "sk-secret-parallel-key-123"
        let client = try ParallelClient(configuration: ParallelConfiguration(apiKey: key))
        let echoed = #"{"type":"error","error":{"ref_id":"r","message":"bad key sk-secret-parallel-key-123","detail":null}}"#
        let error = client.apiError(status: 401, body: Array(echoed.utf8), head: nil)
        #expect(!error.description.contains(key) && !error.debugDescription.contains(key))
        #expect(error.description.contains("[redacted]"))
        #expect(!"\(client.configuration)".contains(key))
        guard case .api(401, "r", _, false) = error else { Issue.record("401 must be non-retryable: \(error)"); return }
    }

    @Test func statusDecisionsPerCallKind() {
        let policy = RetryPolicy()
        for status in [408, 409, 429, 500, 502, 503, 504] {
            #expect(policy.shouldRetry(status: status, shouldRetryHeader: nil, kind: .idempotent), "GET \(status)")
        }
        for status in [400, 401, 402, 403, 404, 422] {
            #expect(!policy.shouldRetry(status: status, shouldRetryHeader: nil, kind: .idempotent), "GET \(status)")
            #expect(!policy.shouldRetry(status: status, shouldRetryHeader: nil, kind: .create), "create \(status)")
        }
        for status in [429, 502, 503] {
            #expect(policy.shouldRetry(status: status, shouldRetryHeader: nil, kind: .create), "create \(status)")
        }
        for status in [408, 409, 500, 504] {
            #expect(!policy.shouldRetry(status: status, shouldRetryHeader: nil, kind: .create), "create \(status)")
        }
        // x-should-retry overrides for idempotent calls; a create never trusts `true`.
        #expect(policy.shouldRetry(status: 400, shouldRetryHeader: "true", kind: .idempotent))
        #expect(!policy.shouldRetry(status: 503, shouldRetryHeader: "false", kind: .idempotent))
        #expect(!policy.shouldRetry(status: 500, shouldRetryHeader: "true", kind: .create))
        #expect(!policy.shouldRetry(status: 429, shouldRetryHeader: "false", kind: .create))
        // /result: 408 means "still active" and 404 "failed or unknown": both go back to the caller.
        #expect(!policy.shouldRetry(status: 408, shouldRetryHeader: nil, kind: .result))
        #expect(!policy.shouldRetry(status: 404, shouldRetryHeader: nil, kind: .result))
        #expect(policy.shouldRetry(status: 503, shouldRetryHeader: nil, kind: .result))
    }

    @Test func transportDecisions() {
        let policy = RetryPolicy()
        let notSent = HTTPClientError(kind: .couldNotConnect, code: 7, call: "curl_easy_perform", requestNotSent: true)
        let afterSend = HTTPClientError(kind: .timedOut, code: 28, call: "curl_easy_perform", requestNotSent: false)
        #expect(policy.shouldRetry(transport: notSent, kind: .create))
        #expect(!policy.shouldRetry(transport: afterSend, kind: .create))
        #expect(policy.shouldRetry(transport: afterSend, kind: .idempotent))
        #expect(ParallelClient.uncertainIfMaybeCreated(.transport(afterSend)).isCreateUncertain)
        #expect(!ParallelClient.uncertainIfMaybeCreated(.transport(notSent)).isCreateUncertain)
        #expect(ParallelClient.uncertainIfMaybeCreated(.api(status: 500, refID: nil, message: "", retryable: true)).isCreateUncertain)
        #expect(!ParallelClient.uncertainIfMaybeCreated(.api(status: 429, refID: nil, message: "", retryable: true)).isCreateUncertain)
    }

    @Test func delays() {
        let policy = RetryPolicy()
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        #expect(policy.delay(retry: 0, retryAfterMS: "1500", retryAfter: "30", now: now) == 1.5)
        #expect(policy.delay(retry: 0, retryAfterMS: nil, retryAfter: "2", now: now) == 2)
        #expect(policy.delay(retry: 0, retryAfterMS: nil, retryAfter: " 3\r\n", now: now) == 3)
        let date = "Thu, 01 Jan 2026 00:00:05 GMT"  // 5 s after `now`
        #expect(abs(policy.delay(retry: 0, retryAfterMS: nil, retryAfter: date, now: now) - 5) < 0.001)
        // Outside (0, 60]: ignored, back to exponential backoff.
        for header in ["0", "-3", "61", "soon"] {
            let value = policy.delay(retry: 1, retryAfterMS: nil, retryAfter: header, now: now, random: 0)
            #expect(value == 1.0, "retry-after \(header)")
        }
        for retry in 0..<8 {
            let base = min(0.5 * pow(2, Double(retry)), 8)
            let high = policy.delay(retry: retry, retryAfterMS: nil, retryAfter: nil, now: now, random: 0)
            let low = policy.delay(retry: retry, retryAfterMS: nil, retryAfter: nil, now: now, random: 1)
            #expect(high == base && low == base * 0.75)
            let any = policy.delay(retry: retry, retryAfterMS: nil, retryAfter: nil, now: now)
            #expect(any >= base * 0.75 && any <= base)
        }
    }
}

extension ParallelError {
    var isCreateUncertain: Bool {
        if case .createUncertain = self { return true }
        return false
    }
}
