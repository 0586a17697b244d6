import Foundation
import Testing
@testable import UpstreamSim

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    static let body = #"{"timestamp":"2026-01-01T00:00:00.000000Z","type":"task_run.status","data":{"run_id":"trun_00000000000000000000000000000001","status":"completed"}}"#

    @Test("reproduces the upstream-api.md §5 test vector")
    func testVector() {
        #expect(Array(Self.body.utf8).count == 147)
        let sig = webhookSignature(key: Array("sim_webhook_secret_123".utf8), id: "whevent_sim_0001",
                                   timestamp: "1767225600", body: Array(Self.body.utf8))
        #expect(sig == "v1,6JWFm7BwffAvhUaVsNnW/iq7Dbz98Btjs7+OFflt9Io=")
    }

    @Test("whsec mode base64-decodes the secret after the prefix")
    func whsecMode() {
        var c = SimConfig()
        c.webhookSecret = "whsec_" + Data("sim_webhook_secret_123".utf8).base64EncodedString()
        c.webhookSecretMode = .whsec
        #expect(c.webhookKey == Array("sim_webhook_secret_123".utf8))
        c.webhookSecretMode = .raw
        #expect(c.webhookKey == Array(c.webhookSecret.utf8))
    }

    @Test("a different secret gives a different signature")
    func wrongSecret() {
        let a = webhookSignature(key: Array("a".utf8), id: "x", timestamp: "1", body: [1])
        let b = webhookSignature(key: Array("b".utf8), id: "x", timestamp: "1", body: [1])
        #expect(a != b)
    }
}
