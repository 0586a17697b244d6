import Foundation
import HTTPClient
import Logging
import Testing
import TestSupport
import Web

/// An `upstream-sim` for one console test, started from `UPSTREAM_SIM_BIN` (default `.build/debug/upstream-sim`)
/// with its own distinctive API key, so a leak of that key anywhere is unmistakable.
final class ConsoleSim {
    /// False only when there is no simulator and `MARKETLENS_REQUIRE_SIM` is not 1 (the tests are then skipped).
    static var available: Bool { SimulatorProcess.isEnabled }

    let apiKey: String
    private let simulator: SimulatorProcess
    var url: String { simulator.parallelURL }

    init(apiKey: String = "console-test-key-" + UUID().uuidString.prefix(8).lowercased()) throws {
        self.apiKey = apiKey
        simulator = try SimulatorProcess(timeScale: 0.01, apiKey: apiKey)
    }

    /// A control-API call, parsed as a JSON object.
    func control(_ method: String, _ path: String, body: String = "") throws -> [String: Any] {
        let response = try HTTPClient().send(
            HTTPRequest(method: method, url: url + "/__sim" + path, headers: [("Content-Type", "application/json")],
                        body: Array(body.utf8), timeout: 10))
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }
}

/// A `BodyWriter` that keeps what is written and, after `failAfter` flushes, acts like a departed client.
final class ConsoleRecordingWriter: BodyWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var flushes = 0
    var failAfter: Int?
    /// Called after each flush with everything written so far; returning true makes later flushes fail.
    var leaveWhen: (String) -> Bool = { _ in false }
    private var left = false

    func write(_ bytes: [UInt8]) throws {
        if left { throw ClientGone() }
        self.bytes.append(contentsOf: bytes)
    }

    func flush() throws {
        if left { throw ClientGone() }
        flushes += 1
        if let failAfter, flushes > failAfter { left = true; throw ClientGone() }
        if leaveWhen(text) { left = true }
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Requests as the console page would send them.
enum ConsoleRequests {
    static func make(
        _ method: String, _ path: String, key: String? = "pasted-key-123456", body: String? = nil,
        headers extra: [(String, String)] = [], csrf: Bool = true
    ) -> Request {
        var headers: HTTPHeaders = ["Host": "localhost:8443", "Origin": "https://localhost:8443",
                                    "Sec-Fetch-Site": "same-origin"]
        if csrf { headers["X-Requested-With"] = "marketlens-console" }
        if let key { headers["X-Parallel-Key"] = key }
        if body != nil { headers["Content-Type"] = "application/json" }
        for (name, value) in extra { headers[name] = value }
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        return Request(method: method, path: parts[0], query: parts.count > 1 ? parts[1] : "", headers: headers,
                       body: Array((body ?? "").utf8), scheme: "https", requestID: "req-1")
    }

    /// The `error.code` of a JSON error response.
    static func errorCode(_ response: Response) -> String? {
        guard case .bytes(let bytes) = response.body,
            let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let error = object["error"] as? [String: Any]
        else { return nil }
        return error["code"] as? String
    }

    static func json(_ response: Response) -> [String: Any] {
        guard case .bytes(let bytes) = response.body else { return [:] }
        return (try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]) ?? [:]
    }
}
