import Foundation
import HTTPClient
import Testing
import TestSupport
@testable import ParallelAPI

/// An `upstream-sim` for one test, on free ports (`SimulatorProcess`). Each test gets its own process, so queued
/// faults and request logs never mix between parallel tests.
final class SimProcess {
    static let apiKey = SimulatorProcess.parallelKey
    static let resendKey = SimulatorProcess.resendKey

    /// False only when there is no simulator and `MARKETLENS_REQUIRE_SIM` is not 1 (then the tests are skipped).
    static var available: Bool { SimulatorProcess.isEnabled }

    static let skipMessage: Comment = "upstream-sim not found: build it (swift build --product upstream-sim) or set UPSTREAM_SIM_BIN; MARKETLENS_REQUIRE_SIM=1 turns this skip into a failure"

    private let simulator: SimulatorProcess
    var parallelURL: String { simulator.parallelURL }
    var resendURL: String { simulator.resendURL }

    init() throws {
        simulator = try SimulatorProcess(timeScale: 0.01)
    }

    func stop() { simulator.stop() }

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
