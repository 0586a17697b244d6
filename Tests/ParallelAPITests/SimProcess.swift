import Foundation
import HTTPClient
import Testing
@testable import ParallelAPI

/// An `upstream-sim` for one test: started from `UPSTREAM_SIM_BIN` (default `.build/debug/upstream-sim`) on free
/// ports, or the one at `UPSTREAM_SIM_URL` / `UPSTREAM_SIM_RESEND_URL`. Each test gets its own process, so queued
/// faults and request logs never mix between parallel tests.
final class SimProcess {
    static let apiKey = "sim-parallel-key"
    static let resendKey = "re_sim_key"
    static let binary = ProcessInfo.processInfo.environment["UPSTREAM_SIM_BIN"] ?? ".build/debug/upstream-sim"
    static let externalURL = ProcessInfo.processInfo.environment["UPSTREAM_SIM_URL"]

    /// False only when there is no simulator and `MARKETLENS_REQUIRE_SIM` is not 1 (then the tests are skipped).
    static var available: Bool {
        externalURL != nil || FileManager.default.isExecutableFile(atPath: binary)
            || ProcessInfo.processInfo.environment["MARKETLENS_REQUIRE_SIM"] == "1"
    }

    static let skipMessage: Comment = "upstream-sim not found: build it (swift build --product upstream-sim), set UPSTREAM_SIM_BIN or UPSTREAM_SIM_URL; MARKETLENS_REQUIRE_SIM=1 turns this skip into a failure"

    let parallelURL: String
    let resendURL: String
    private let process: Process?

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    init() throws {
        if let url = Self.externalURL {
            parallelURL = url
            resendURL = ProcessInfo.processInfo.environment["UPSTREAM_SIM_RESEND_URL"] ?? url
            process = nil
            return
        }
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw StartError(description: "upstream-sim binary missing at \(Self.binary) and MARKETLENS_REQUIRE_SIM=1")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--port", "0", "--resend-port", "0", "--time-scale", "0.01", "--api-key", Self.apiKey,
                             "--resend-api-key", Self.resendKey, "--webhook-secret", "sim_webhook_secret_123"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line: [UInt8] = []
        let deadline = Date().addingTimeInterval(20)
        while !line.contains(10), Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        var fields: [String: String] = [:]
        for part in text.split(separator: " ").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        guard text.hasPrefix("upstream-sim "), let parallel = fields["parallel"], let resend = fields["resend"] else {
            process.terminate()
            throw StartError(description: "unexpected upstream-sim ready line: \(text)")
        }
        parallelURL = parallel
        resendURL = resend
        self.process = process
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }

    /// A client for this simulator with fast retries.
    func client(apiKey: String = SimProcess.apiKey, initialDelay: Double = 0.02, createTimeout: Double = 10) throws
        -> ParallelClient
    {
        try ParallelClient(configuration: ParallelConfiguration(
            baseURL: parallelURL, apiKey: apiKey, createTimeout: createTimeout,
            retryPolicy: RetryPolicy(initialDelay: initialDelay, maxDelay: 0.2)))
    }

    /// Calls the control API and parses its JSON answer.
    @discardableResult
    func control(_ method: String, _ path: String, body: String? = nil) throws -> JSONValue {
        let http = try HTTPClient()
        let response = try http.send(HTTPRequest(method: method, url: parallelURL + "/__sim" + path,
                                                 headers: [("Content-Type", "application/json")],
                                                 body: Array((body ?? "").utf8), timeout: 10))
        return try JSONValue.parse(response.text)
    }

    /// Queues `fault` (with `;k=v` params) for the next `count` calls of `endpoint`.
    func fault(_ endpoint: String, _ fault: String, count: Int = 1) throws {
        try control("POST", "/faults", body: #"{"endpoint":"\#(endpoint)","fault":"\#(fault)","count":\#(count)}"#)
    }

    /// Logged requests whose path starts with `prefix`, as (method, path).
    func requests(path prefix: String) throws -> [(method: String, path: String)] {
        let log = try control("GET", "/requests?path=\(prefix)&api=parallel")
        return (log["requests"]?.arrayValue ?? []).map {
            ($0["method"]?.stringValue ?? "", $0["path"]?.stringValue ?? "")
        }
    }
}
