import Foundation
import HTTPClient
import Testing
@testable import ResendAPI

/// An `upstream-sim` for one test (same rules as the ParallelAPI tests: `UPSTREAM_SIM_BIN`, `UPSTREAM_SIM_URL` with
/// `UPSTREAM_SIM_RESEND_URL`, and `MARKETLENS_REQUIRE_SIM=1` to fail instead of skipping).
final class ResendSim {
    static let key = "re_sim_key"
    static let binary = ProcessInfo.processInfo.environment["UPSTREAM_SIM_BIN"] ?? ".build/debug/upstream-sim"
    static let environment = ProcessInfo.processInfo.environment
    static var available: Bool {
        environment["UPSTREAM_SIM_URL"] != nil || FileManager.default.isExecutableFile(atPath: binary)
            || environment["MARKETLENS_REQUIRE_SIM"] == "1"
    }

    let controlURL: String
    let resendURL: String
    private var process: Process?

    struct StartError: Error {
        var reason: String
    }

    init() throws {
        if let url = Self.environment["UPSTREAM_SIM_URL"], let resend = Self.environment["UPSTREAM_SIM_RESEND_URL"] {
            controlURL = url
            resendURL = resend
            return
        }
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { throw StartError(reason: "no upstream-sim") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--port", "0", "--resend-port", "0", "--time-scale", "0.01", "--resend-api-key", Self.key]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        var bytes: [UInt8] = []
        while !bytes.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            bytes += chunk
        }
        let fields = Dictionary(String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).dropFirst()
            .compactMap { part -> (String, String)? in
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                return pair.count == 2 ? (pair[0], pair[1]) : nil
            }, uniquingKeysWith: { first, _ in first })
        guard let parallel = fields["parallel"], let resend = fields["resend"] else {
            process.terminate()
            throw StartError(reason: "bad ready line")
        }
        controlURL = parallel
        resendURL = resend
    }

    deinit {
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
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
            guard case .api(403, "invalid_api_key", _, false, _) = error as? ResendError else { return false }
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
