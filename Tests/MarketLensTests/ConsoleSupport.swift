import Foundation
import HTTPClient
import Logging
import Testing
import TestSupport
import Web
@testable import Engine
@testable import MarketLens

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

/// A response that keeps what is written and, after `failAfter` flushes or once `leaveWhen` holds, acts like a
/// departed client (its writes fail and `isPeerClosed` says so). It can be detached: the console's relay thread
/// then writes it, hence the lock.
final class ConsoleRecordingWriter: BodyWriter, DetachedBody, @unchecked Sendable {
    private let lock = NSLock()
    private var written: [UInt8] = []
    private var flushes = 0
    var failAfter: Int?
    /// Called after each flush with everything written so far; returning true makes later flushes fail.
    var leaveWhen: @Sendable (String) -> Bool = { _ in false }
    private var left = false

    func write(_ bytes: [UInt8]) throws {
        try lock.withLock {
            if left { throw ClientGone() }
            written.append(contentsOf: bytes)
        }
    }

    func flush() throws {
        try lock.withLock {
            if left { throw ClientGone() }
            flushes += 1
            if let failAfter, flushes > failAfter { left = true; throw ClientGone() }
            if leaveWhen(String(decoding: written, as: UTF8.self)) { left = true }
        }
    }

    var text: String { lock.withLock { String(decoding: written, as: UTF8.self) } }

    func detach() -> (any DetachedBody)? { self }
    var isWritable: Bool { true }
    var writeChunkBytes: Int { 32 * 1024 }
    var isPeerClosed: Bool { lock.withLock { left } }
    func close() {}
}

/// The console's relay thread of one test, with the hub that counts its streams.
final class ConsoleRelayThread: @unchecked Sendable {
    let hub = RelayHub(databaseURL: "postgresql://unused@127.0.0.1:1/unused", settings: LiveSettings(),
                       logs: AppEventLogs(), logger: Logger(label: "test.console"))
    let streams: ConsoleStreams
    private let signal = TestStopSignal()
    private let done = DispatchSemaphore(value: 0)

    init(heartbeatSeconds: Double = 10) {
        streams = ConsoleStreams(hub: hub, logger: Logger(label: "test.console"), heartbeatSeconds: heartbeatSeconds)
        let service = ConsoleStreamThread(streams: streams)
        Thread { [signal, done] in
            service.run(until: signal)
            done.signal()
        }.start()
    }

    /// Waits until every relay handed over has ended (its slot given back); false on timeout.
    func waitUntilIdle(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if hub.openStreams == 0 { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return hub.openStreams == 0
    }

    deinit {
        signal.request()
        _ = done.wait(timeout: .now() + 5)
    }
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
