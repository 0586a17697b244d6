import Foundation
import HTTPClient
import Testing
@testable import ResendAPI

@Suite("Resend errors and message encoding")
struct ResendUnitTests {
    static let key = "re_secret_key_42"

    func client() throws -> ResendClient {
        try ResendClient(configuration: ResendConfiguration(baseURL: "http://127.0.0.1:9", apiKey: Self.key))
    }

    func response(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(head: HTTPResponseHead(status: status, headers: headers), body: Array(body.utf8))
    }

    @Test func documentedErrorBody() throws {
        let error = try client().apiError(response(422, #"{"statusCode": 422, "message": "Missing `to` field.", "name": "missing_required_field"}"#))
        guard case .api(422, "missing_required_field", "Missing `to` field.", false, nil) = error else {
            Issue.record("\(error)"); return
        }
    }

    @Test func retryClasses() throws {
        let cases: [(Int, String, Bool)] = [
            (429, "rate_limit_exceeded", true), (429, "daily_quota_exceeded", false), (429, "monthly_quota_exceeded", false),
            (500, "application_error", true), (503, "internal_server_error", true),
            (409, "concurrent_idempotent_requests", true), (409, "invalid_idempotent_request", false),
            (400, "validation_error", false), (401, "missing_api_key", false), (403, "invalid_api_key", false),
            (401, "validation_error", false),
            (404, "not_found", false), (422, "validation_error", false),
        ]
        let client = try client()
        for (status, name, retryable) in cases {
            let error = client.apiError(response(status, #"{"statusCode":\#(status),"message":"m","name":"\#(name)"}"#))
            #expect(error.isRetryable == retryable, "\(status) \(name)")
        }
        let limited = client.apiError(response(429, #"{"statusCode":429,"message":"slow down","name":"rate_limit_exceeded"}"#,
                                               headers: [("retry-after", "2")]))
        guard case .api(429, _, _, true, 2) = limited else { Issue.record("\(limited)"); return }
    }

    @Test func nonJSONBodiesAreTyped() throws {
        let error = try client().apiError(response(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"))
        guard case .api(502, nil, "502 Bad Gateway", true, nil) = error else { Issue.record("\(error)"); return }
        let empty = try client().apiError(response(500, ""))
        guard case .api(500, nil, "HTTP 500 with an empty body", true, nil) = empty else { Issue.record("\(empty)"); return }
    }

    @Test func keyAndAddressesNeverInDescriptions() throws {
        let body = #"{"statusCode":403,"message":"You can only send testing emails to your own email address (owner@example.com). Key re_secret_key_42 is restricted.","name":"validation_error"}"#
        let error = try client().apiError(response(403, body))
        for text in [error.description, error.debugDescription, "\(error)"] {
            #expect(!text.contains("owner@example.com") && !text.contains(Self.key) && !text.contains("@"))
        }
        #expect(error.description.contains("[address]") && error.description.contains("[redacted]"))
        let message = EmailMessage(from: "Market Research <updates@example.app>", to: ["someone@example.org"], subject: "Ready")
        #expect(!"\(message)".contains("@"))
        #expect(!"\(ResendConfiguration(apiKey: Self.key))".contains(Self.key))
    }

    @Test func messageWireFormat() throws {
        let message = EmailMessage(from: "Market Research <updates@example.app>", to: ["a@example.org"], subject: "Ready",
                                   html: "<p>Hi</p>", text: "Hi", replyTo: ["help@example.app"],
                                   headers: ["X-Report": "rpt_1"], tags: [EmailTag(name: "kind", value: "report_ready")])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(message)) as? [String: Any]
        #expect(json?["reply_to"] as? [String] == ["help@example.app"])
        #expect(json?["to"] as? [String] == ["a@example.org"])
        #expect((json?["tags"] as? [[String: String]])?.first == ["name": "kind", "value": "report_ready"])
        #expect(json?["headers"] as? [String: String] == ["X-Report": "rpt_1"])
        let minimal = try JSONSerialization.jsonObject(with: JSONEncoder().encode(
            EmailMessage(from: "f@example.app", to: ["t@example.org"], subject: "s"))) as? [String: Any]
        #expect(Set(minimal?.keys.map { $0 } ?? []) == ["from", "to", "subject"])
    }

    @Test func connectFailureIsATransportError() throws {
        #expect {
            try client().send(EmailMessage(from: "f@example.app", to: ["t@example.org"], subject: "s"), idempotencyKey: "k")
        } throws: { error in
            guard case .transport(let transport) = error as? ResendError else { return false }
            return transport.requestNotSent && !"\(error)".contains("@")
        }
    }
}
