import Foundation
import HTTPClient
import Logging
import Engine
import MarketLens
import ParallelAPI
import Postgres
import Synchronization
import Testing
import TestSupport

/// An `upstream-sim` for one monitor test (time scale 0.02, one webhook attempt).
final class MonitorSim: @unchecked Sendable {
    static let parallelKey = SimulatorProcess.parallelKey
    static let webhookSecret = SimulatorProcess.webhookSecret
    static var available: Bool { SimulatorProcess.isEnabled }

    private let simulator: SimulatorProcess
    var parallelURL: String { simulator.parallelURL }
    var resendURL: String { simulator.resendURL }

    init() throws {
        simulator = try SimulatorProcess(timeScale: 0.02, arguments: ["--webhook-max-attempts", "1"])
    }

    func client() throws -> ParallelClient {
        try ParallelClient(configuration: ParallelConfiguration(
            baseURL: parallelURL, apiKey: Self.parallelKey, retryPolicy: RetryPolicy(initialDelay: 0.02, maxDelay: 0.2)))
    }

    /// Creates a run upstream the way the report creator would, with extra metadata (e.g. `sim_fault`).
    func createRun(publicID: String, processor: String = "ultra", extra: [String: JSONValue] = [:],
                   webhook: String? = nil) throws -> String {
        var metadata: [String: JSONValue] = ["report_id": .string(publicID)]
        metadata.merge(extra) { _, new in new }
        let input = RunInput(input: .text("Industry: cold-chain logistics"), processor: processor,
                             taskSpec: TaskSpec(outputSchema: .text(description: "report")), metadata: metadata,
                             webhook: webhook.map { Webhook(url: $0) }, enableEvents: true)
        return try client().createRun(input).runID
    }

    @discardableResult
    func control(_ method: String, _ path: String, body: String? = nil, resend: Bool = false) throws -> JSONValue {
        let http = try HTTPClient()
        let response = try http.send(HTTPRequest(
            method: method, url: (resend ? resendURL : parallelURL) + "/__sim" + path,
            headers: [("Content-Type", "application/json")], body: Array((body ?? "").utf8), timeout: 10))
        return try JSONValue.parse(String(decoding: response.body, as: UTF8.self))
    }

    func fault(_ endpoint: String, _ fault: String, count: Int) throws {
        try control("POST", "/faults", body: #"{"endpoint":"\#(endpoint)","fault":"\#(fault)","count":\#(count)}"#)
    }

    /// E-mails the sim accepted.
    func outbox() throws -> [JSONValue] {
        try control("GET", "/outbox", resend: true)["emails"]?.arrayValue
            ?? control("GET", "/outbox", resend: true).arrayValue ?? []
    }

    /// Logged Parallel requests (method, path) whose path starts with `prefix`.
    func requests(path prefix: String) throws -> [(method: String, path: String)] {
        let log = try control("GET", "/requests?path=\(prefix)&api=parallel")
        return (log["requests"]?.arrayValue ?? []).map {
            ($0["method"]?.stringValue ?? "", $0["path"]?.stringValue ?? "")
        }
    }

    /// Waits until the run is terminal upstream.
    func waitForRun(_ runID: String, timeout: Double = 30) throws -> TaskRun {
        let client = try client()
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let run = try client.retrieveRun(runID)
            if run.status.isTerminal || Date() > deadline { return run }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}

/// A stop signal the test controls.
final class TestStopSignal: StopSignal {
    private let flag = Atomic<Bool>(false)
    var isRequested: Bool { flag.load(ordering: .relaxed) }
    func request() { flag.store(true, ordering: .relaxed) }
    func wait(timeout: Duration) -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if isRequested { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return isRequested
    }
}

/// A `ReportMonitor` running on its own thread until `stop()`.
final class RunningMonitor: @unchecked Sendable {
    let signal = TestStopSignal()
    let monitor: ReportMonitor
    private let finished = TestStopSignal()

    init(_ monitor: ReportMonitor) {
        self.monitor = monitor
        let thread = Thread { [signal, finished] in
            monitor.run(until: signal)
            finished.request()
        }
        thread.start()
    }

    /// Requests the stop and waits for the service to return.
    func stop(timeout: Double = 20) {
        signal.request()
        let deadline = Date().addingTimeInterval(timeout)
        while !finished.isRequested, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    }

    var hasReturned: Bool { finished.isRequested }
}

/// The pieces of one monitor test: an isolated migrated schema, a simulator and an app configuration for both.
struct MonitorEnvironment {
    let databaseURL: String
    let sim: MonitorSim
    let configuration: AppConfiguration
    let app: MarketLensApp

    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Runs `body` with a fresh schema and simulator; `overrides` adjust the environment.
    static func with(_ overrides: [String: String] = [:], _ body: (MonitorEnvironment) throws -> Void) throws {
        try MigratedDatabase.with { url in
            let sim = try MonitorSim()
            var environment = [
                "DATABASE_URL": url, "PARALLEL_BASE_URL": sim.parallelURL, "RESEND_BASE_URL": sim.resendURL,
                "MARKETLENS_ROOT": root, "BASE_URL": "https://marketlens.test",
                "PARALLEL_WEBHOOK_SECRET": MonitorSim.webhookSecret,
                "MARKETLENS_LEASE_SECONDS": "2", "MARKETLENS_POLL_SECONDS": "0.2", "MARKETLENS_MONITOR_INTERVAL": "0.1",
                "MARKETLENS_BACKOFF_SECONDS": "0.05", "MARKETLENS_EMAIL_BACKOFF_SECONDS": "0.05",
                "MARKETLENS_STREAM_IDLE_SECONDS": "5", "MARKETLENS_CREATE_GRACE_SECONDS": "0.5",
            ]
            environment.merge(overrides) { _, new in new }
            for (key, value) in overrides where value.isEmpty { environment[key] = nil }
            let configuration = try AppConfiguration(environment: environment)
            let app = try MarketLensApp(configuration: configuration, logger: Logger(label: "test"))
            try body(MonitorEnvironment(databaseURL: url, sim: sim, configuration: configuration, app: app))
        }
    }

    func connect() throws -> Connection { try Connection(url: databaseURL) }

    func monitor(ownerID: String = ReportMonitor.makeOwnerID(), logger: Logger = Logger(label: "test.monitor"))
        -> RunningMonitor
    {
        RunningMonitor(ReportMonitor(configuration: configuration, completion: app.reportCompletion, logger: logger,
                                     ownerID: ownerID))
    }

    /// Inserts a report whose run already exists upstream; returns (internal id, public id).
    func insertReport(runID: String?, publicID: String = ReportStore.newPublicID(), email: String? = "reader@example.com",
                      industry: String = "Cold-chain logistics", region: String = "EU",
                      status: String = "queued", uncertain: Bool = false) throws -> (Int64, String) {
        let row = try connect().queryFirst(
            """
            INSERT INTO reports (public_id, task_run_id, title, industry, region, processor, email, status, create_uncertain)
            VALUES (\(publicID), \(runID), \(ReportNaming.title(industry: industry, region: region)), \(industry),
                    \(region), 'ultra', \(email), \(status), \(uncertain))
            RETURNING id
            """)
        return (try #require(row).int64("id"), publicID)
    }

    /// Waits until `condition` holds (checked every 50 ms), failing after `timeout` seconds.
    func waitUntil(timeout: Double = 30, _ what: String, _ condition: (Connection) throws -> Bool) throws {
        let connection = try connect()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition(connection) { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Issue.record("timed out waiting for \(what)")
        throw MonitorTestError.timeout(what)
    }

    func status(of reportID: Int64, on connection: Connection) throws -> String {
        try #require(try connection.queryFirst("SELECT status FROM reports WHERE id = \(reportID)")).string("status")
    }

    func events(of reportID: Int64) throws -> [StoredReportEvent] {
        try ReportEventLog.events(of: reportID, after: 0, on: connect())
    }
}

enum MonitorTestError: Error { case timeout(String) }
