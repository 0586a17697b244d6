import Foundation
import HTTPClient
import Testing
import TestSupport
@testable import ResendAPI

/// An `upstream-sim` for one test, on free ports (`SimulatorProcess`); `MARKETLENS_REQUIRE_SIM=1` fails instead of
/// skipping when the binary is missing.
final class ResendSim {
    static let key = SimulatorProcess.resendKey
    static var available: Bool { SimulatorProcess.isEnabled }

    private let simulator: SimulatorProcess
    var controlURL: String { simulator.parallelURL }
    var resendURL: String { simulator.resendURL }

    init() throws {
        simulator = try SimulatorProcess(timeScale: 0.01)
    }

    func client(key: String = ResendSim.key) throws -> ResendClient {
        try ResendClient(configuration: ResendConfiguration(baseURL: resendURL, apiKey: key))
    }

    func control(_ method: String, _ path: String, body: String = "") throws -> [String: Any] {
        let response = try HTTPClient().send(HTTPRequest(method: method, url: controlURL + "/__sim" + path,
                                                         headers: [("Content-Type", "application/json")],
                                                         body: Array(body.utf8)))
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    func outboxCount() throws -> Int {
        (try control("GET", "/outbox")["emails"] as? [Any])?.count ?? -1
    }
}

@Suite("ResendAPI against upstream-sim",
       .enabled(if: ResendSim.available, "upstream-sim not found: build it or set UPSTREAM_SIM_BIN; MARKETLENS_REQUIRE_SIM=1 makes this a failure"))
struct ResendSimTests {
    static func message(_ subject: String = "Your report is ready") -> EmailMessage {
        EmailMessage(from: "Market Research <updates@example.app>", to: ["reader@example.org"], subject: subject,
                     html: "<p>Ready</p>", text: "Ready", tags: [EmailTag(name: "kind", value: "report_ready")])
    }

    @Test func idempotentResendGivesTheSameIDAndOneEmail() throws {
        let sim = try ResendSim()
        let client = try sim.client()
        let first = try client.send(Self.message(), idempotencyKey: "report-ready/rpt_1")
        Thread.sleep(forTimeInterval: 1.1)  // the simulator enforces Resend's 2 requests/s
        let again = try client.send(Self.message(), idempotencyKey: "report-ready/rpt_1")
        #expect(!first.isEmpty && first == again)
        #expect(try sim.outboxCount() == 1)
        Thread.sleep(forTimeInterval: 1.1)
        let other = try client.send(Self.message(), idempotencyKey: "report-ready/rpt_2")
        let count = try sim.outboxCount()
        #expect(other != first && count == 2)
    }

    @Test func sameKeyWithAnotherPayloadIsANonRetryable409() throws {
        let sim = try ResendSim()
        let client = try sim.client()
        _ = try client.send(Self.message(), idempotencyKey: "report-ready/rpt_9")
        #expect {
            try client.send(Self.message("Different"), idempotencyKey: "report-ready/rpt_9")
        } throws: { error in
            guard case .api(409, "invalid_idempotent_request", _, false, _) = error as? ResendError else { return false }
            return true
        }
    }

    @Test func wrongKeyAndInjectedFaultsAreTyped() throws {
        let sim = try ResendSim()
        #expect {
            try sim.client(key: "re_wrong_key").send(Self.message(), idempotencyKey: "k1")
        } throws: { error in
            // Resend today answers an unknown key on sending with 401 validation_error (403 invalid_api_key in
            // older documentation): neither is retried.
            guard case .api(401, "validation_error", _, false, _) = error as? ResendError else { return false }
            return !"\(error)".contains("re_wrong_key") && !"\(error)".contains("reader@example.org")
        }
        Thread.sleep(forTimeInterval: 1.1)
        _ = try sim.control("POST", "/faults", body: #"{"endpoint":"resend","fault":"429;retry_after=1","count":1}"#)
        #expect {
            try sim.client().send(Self.message(), idempotencyKey: "k2")
        } throws: { error in
            guard case .api(429, "rate_limit_exceeded", _, true, let retryAfter) = error as? ResendError else { return false }
            return retryAfter == 1
        }
        Thread.sleep(forTimeInterval: 1.1)
        _ = try sim.control("POST", "/faults", body: #"{"endpoint":"resend","fault":"503;body=html","count":1}"#)
        #expect {
            try sim.client().send(Self.message(), idempotencyKey: "k3")
        } throws: { error in
            guard case .api(503, nil, let message, true, _) = error as? ResendError else { return false }
            return !message.contains("<")
        }
        #expect(try sim.outboxCount() == 0)
    }

    @Test func retriesInsideSendUseTheSameKey() throws {
        let sim = try ResendSim()
        let client = try ResendClient(configuration: ResendConfiguration(baseURL: sim.resendURL, apiKey: ResendSim.key,
                                                                         maxRetries: 2))
        client.sleep = { _ in }
        _ = try sim.control("POST", "/faults", body: #"{"endpoint":"resend","fault":"500","count":1}"#)
        let id = try client.send(Self.message(), idempotencyKey: "report-ready/rpt_5")
        let count = try sim.outboxCount()
        #expect(!id.isEmpty && count == 1)
    }
}
