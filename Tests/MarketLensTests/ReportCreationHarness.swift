import FastCGIServer
import Foundation
import HTTPClient
import Logging
import MarketLens
import Postgres
import Testing
import TestSupport
import Web

/// A real `upstream-sim` process on free ports, stopped on `stop()`.
final class SimProcess: @unchecked Sendable {
    let simulator: SimulatorProcess
    var url: String { simulator.parallelURL }

    init(arguments: [String] = []) throws {
        let chatDelay = arguments.contains("--chat-delay") ? [] : ["--chat-delay", "0.5"]
        simulator = try SimulatorProcess(arguments: chatDelay + arguments)
    }

    func stop() { simulator.stop() }

    /// Calls the control API; returns the decoded JSON object.
    @discardableResult
    func control(_ method: String, _ path: String, json: String? = nil) throws -> [String: Any] {
        let client = try HTTPClient()
        let response = try client.send(HTTPRequest(
            method: method, url: url + path, headers: [("Content-Type", "application/json")],
            body: Array((json ?? "").utf8), timeout: 10))
        guard (200..<300).contains(response.status) else { throw HarnessError("sim \(path): \(response.status)") }
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// Queues `fault` for the next `count` calls of `endpoint` (`create`, `chat`, …).
    func fault(_ endpoint: String, _ fault: String, count: Int = 1) throws {
        try control("POST", "/__sim/faults", json: #"{"endpoint":"\#(endpoint)","fault":"\#(fault)","count":\#(count)}"#)
    }

    /// Logged requests whose path starts with `path`.
    func requests(path: String, method: String = "POST") throws -> [[String: Any]] {
        let all = try control("GET", "/__sim/requests?path=\(path)")["requests"] as? [[String: Any]] ?? []
        return all.filter { $0["method"] as? String == method }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The Marketlens app served by a real `Worker` over a temporary unix socket, on a migrated schema, talking to
/// its own `upstream-sim`.
final class CreationStack: @unchecked Sendable {
    static let csrfToken = "Q0zd2mVpLx8wT4nB7cR1yU5oI3eA6sD9fG2hJ0kL1m9"

    let sim: SimProcess
    let databaseURL: String
    let socketPath: String
    let worker: Worker
    let database: Connection
    private let returned = DispatchSemaphore(value: 0)

    private init(sim: SimProcess, databaseURL: String, environment: [String: String], validationTimeout: Double?)
        throws
    {
        self.sim = sim
        self.databaseURL = databaseURL
        HTTPClient.globalInitialize()
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        var env = [
            "DATABASE_URL": databaseURL, "PARALLEL_BASE_URL": sim.url, "MARKETLENS_ROOT": root.path,
            "MARKETLENS_PROCESSOR": "lite", "BASE_URL": "https://marketlens.test",
        ]
        env.merge(environment) { _, new in new }
        var configuration = try AppConfiguration(environment: env)
        if let validationTimeout { configuration.validationTimeout = validationTimeout }
        var logger = Logger(label: "test.create")
        logger.logLevel = ProcessInfo.processInfo.environment["MARKETLENS_TEST_LOG"] == nil ? .critical : .debug
        let app = try MarketLensApp(configuration: configuration, logger: logger)
        socketPath = FastCGIClient.temporarySocketPath()
        worker = Worker(
            configuration: WorkerConfiguration(socketPath: socketPath, threads: 4, handlesSignals: false),
            factory: app, logger: logger)
        database = try Connection(url: databaseURL)
        let worker = self.worker
        Thread { [returned] in
            try? worker.run()
            returned.signal()
        }.start()
        guard worker.waitUntilListening(timeout: .seconds(10)) else { throw HarnessError("worker did not listen") }
    }

    /// Runs `body` with a fresh schema, simulator and worker; everything is stopped afterwards.
    static func with(
        environment: [String: String] = [:], simArguments: [String] = [], validationTimeout: Double? = nil,
        _ body: (CreationStack) throws -> Void
    ) throws {
        let sim = try SimProcess(arguments: simArguments)
        defer { sim.stop() }
        try MigratedDatabase.with { url in
            let stack = try CreationStack(sim: sim, databaseURL: url, environment: environment,
                                          validationTimeout: validationTimeout)
            defer { stack.stop() }
            try body(stack)
        }
    }

    func stop() {
        worker.stop()
        _ = returned.wait(timeout: .now() + 10)
    }

    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: String
        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// Sends a request through the worker as nginx would.
    func send(_ method: String, _ uri: String, headers: [(String, String)] = [], body: String = "",
              client: String = "198.51.100.10") throws -> Reply {
        var params = FastCGIClient.params(method: method, uri: uri, headers: headers, body: Array(body.utf8))
        params["REMOTE_ADDR"] = client
        let response = try FastCGIClient.send(socketPath: socketPath, params: params, body: Array(body.utf8),
                                              timeout: 30)
        return Reply(status: response.status, headers: response.headers,
                     body: String(decoding: response.body, as: UTF8.self))
    }

    /// Posts the research form with the CSRF cookie and field (unless `csrf` is false).
    func postForm(_ fields: [(String, String)], csrf: Bool = true, path: String = "/reports",
                  client: String = "198.51.100.10") throws -> Reply {
        var all = fields
        if csrf { all.append(("csrf_token", Self.csrfToken)) }
        let body = URLEncodedForm(fields: all.map { .init(name: $0.0, value: $0.1) }).encoded
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if csrf { headers.append(("Cookie", "__Host-csrf_token=\(Self.csrfToken)")) }
        return try send("POST", path, headers: headers, body: body, client: client)
    }

    /// Posts JSON to the API.
    func postJSON(_ path: String, _ json: String, client: String = "198.51.100.10") throws -> Reply {
        try send("POST", path, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                 body: json, client: client)
    }

    /// Number of report rows.
    func reportCount() throws -> Int {
        try database.queryFirst("SELECT count(*)::int AS n FROM reports")?.int("n") ?? -1
    }

    /// Run creations and chat calls the simulator saw.
    func creates() throws -> [[String: Any]] { try sim.requests(path: "/v1/tasks/runs") }
    func chats() throws -> [[String: Any]] { try sim.requests(path: "/chat/completions") }
}

/// Parses a JSON object body.
func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}
