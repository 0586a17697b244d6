import FastCGIServer
import Foundation
import Logging
@testable import Engine
@testable import MarketLens
import Migrations
import Postgres
import Testing
import TestSupport
import Web

/// A migrated database of its own (the hub LISTENs, and channels are per database), a `MarketLensApp` and an
/// in-process FastCGI worker running the app's background services (the relay hub), for live-stream tests.
final class LiveHarness: @unchecked Sendable {
    let databaseURL: String
    let app: MarketLensApp
    let worker: Worker
    let socketPath: String
    private let returned = DispatchSemaphore(value: 0)

    static func with<T>(threads: Int = 16, settings: LiveSettings = LiveSettings(), batch: BatchSettings = BatchSettings(),
                        _ body: (LiveHarness) throws -> T) throws -> T {
        try TestDatabase.withDatabase { database in
            let connection = try Connection(url: database.url)
            try Migrator(directory: MigratedDatabase.migrations).migrate(on: connection)
            let harness = try LiveHarness(url: database.url, threads: threads, settings: settings, batch: batch)
            defer { harness.stop() }
            return try body(harness)
        }
    }

    private init(url: String, threads: Int, settings: LiveSettings, batch: BatchSettings) throws {
        databaseURL = url
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let configuration = try AppConfiguration(environment: [
            "DATABASE_URL": url, "MARKETLENS_ROOT": root.path, "BASE_URL": "https://marketlens.test",
        ])
        var logger = Logger(label: "test.live")
        logger.logLevel = .critical
        app = try MarketLensApp(configuration: configuration, logger: logger, live: settings, batch: batch)
        socketPath = FastCGIClient.temporarySocketPath()
        // Only the live fan-out: the report and batch monitors have nothing to do in these tests.
        let services = app.relayHub.services + app.consoleStreams.services + app.batchWaits.services
        worker = Worker(
            configuration: WorkerConfiguration(
                socketPath: socketPath, threads: threads, shutdownGracePeriod: .seconds(5), handlesSignals: false,
                backgroundTasks: services.map { service in
                    { @Sendable signal in service.run(until: WorkerShutdownSignal(signal: signal)) }
                }),
            factory: app, logger: logger)
        let worker = self.worker
        Thread { [returned] in
            try? worker.run()
            returned.signal()
        }.start()
        try #require(worker.waitUntilListening(timeout: .seconds(10)))
        // The listener must be LISTENing before a test inserts events it expects live.
        try #require(Self.waitUntil(timeout: 10) { (try? self.listenerCount()) ?? 0 >= 1 })
    }

    func stop() {
        worker.stop()
        _ = returned.wait(timeout: .now() + 10)
    }

    /// Backends of this database waiting in LISTEN (the hub's listener).
    func listenerCount() throws -> Int {
        let connection = try Connection(url: databaseURL)
        return try connection.queryFirst(
            """
            SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()
            """)?.int("n") ?? 0
    }

    /// Inserts a queued report; returns (internal id, public id).
    func makeReport(status: String = "running") throws -> (Int64, String) {
        let connection = try Connection(url: databaseURL)
        let publicID = ReportIDs.make()
        let row = try connection.queryFirst(
            """
            INSERT INTO reports (public_id, title, industry, processor, status, content, slug, completed_at, error)
            VALUES (\(publicID), 'Cold-chain logistics Market Research Report', 'Cold-chain logistics', 'ultra2x',
                    \(status), CASE WHEN \(status) = 'completed' THEN '# Report' END,
                    CASE WHEN \(status) = 'completed' THEN \("cold-chain-" + publicID.suffix(8).lowercased()) END,
                    CASE WHEN \(status) = 'completed' THEN now() END,
                    CASE WHEN \(status) = 'failed' THEN 'The research run failed upstream.' END) RETURNING id
            """)
        return (try #require(try row?.int64("id")), publicID)
    }

    /// Appends `count` message events (text `prefix N`), returning their seqs.
    @discardableResult
    func appendMessages(_ reportID: Int64, count: Int, prefix: String = "step", on existing: Connection? = nil,
                        padding: Int = 0) throws -> [Int] {
        let connection = try existing ?? Connection(url: databaseURL)
        let pad = String(repeating: "x", count: padding)
        return try (0..<count).map { index in
            try #require(try ReportEventLog.append(
                .message(.init(kind: "search", text: "\(prefix) \(index)\(pad)", timestamp: nil)),
                to: reportID, dedupeKey: nil, on: connection))
        }
    }

    func appendCompleted(_ reportID: Int64, on existing: Connection? = nil) throws {
        let connection = try existing ?? Connection(url: databaseURL)
        try ReportEventLog.append(
            .completed(.init(slug: "cold-chain-ab12", title: "Cold-chain", url: "https://marketlens.test/r/cold-chain-ab12")),
            to: reportID, dedupeKey: nil, on: connection)
    }

    /// Opens an event stream for `publicID`.
    func open(_ publicID: String, lastEventID: Int? = nil, query: String = "", path: String? = nil,
              accept: String = "text/event-stream") throws -> SSEClient {
        let connection = try FastCGIClient.Connection(socketPath: socketPath, timeout: 15)
        var headers: [(String, String)] = [("Accept", accept)]
        if let lastEventID { headers.append(("Last-Event-ID", String(lastEventID))) }
        let uri = (path ?? "/reports/\(publicID)/events") + (query.isEmpty ? "" : "?" + query)
        try connection.sendRequest(params: FastCGIClient.params(uri: uri, headers: headers))
        return SSEClient(connection: connection)
    }

    static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}

/// The in-process worker's shutdown signal as the app's services see it.
struct WorkerShutdownSignal: StopSignal {
    let signal: ShutdownSignal
    var isRequested: Bool { signal.isRequested }
    func wait(timeout: Duration) -> Bool { signal.wait(timeout: timeout) }
}

/// Reads an event stream from the worker: the CGI head, then SSE events and comments as they arrive.
final class SSEClient {
    struct Event: Equatable {
        var id: String?
        var event: String?
        var data: String
        var retry: String?
    }

    let connection: FastCGIClient.Connection
    private(set) var head = ""
    private(set) var events: [Event] = []
    private(set) var comments: [String] = []
    private(set) var ended = false
    private var text = ""
    private var headDone = false
    /// Everything after the head, as received.
    private(set) var rawBody = ""

    init(connection: FastCGIClient.Connection) { self.connection = connection }

    /// The status from the CGI `Status:` header (200 when absent).
    var status: Int {
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("status:") {
            return Int(line.dropFirst(7).trimmingCharacters(in: .whitespaces).prefix(3)) ?? 0
        }
        return 200
    }

    /// Ids of the events that carry one, as integers.
    var ids: [Int] { events.compactMap { $0.id.flatMap(Int.init) } }

    /// Reads until `condition` holds or the stream ends; returns whether the condition holds.
    @discardableResult
    func read(until condition: (SSEClient) -> Bool) throws -> Bool {
        while !condition(self) {
            guard let chunk = try connection.nextOutput() else {
                ended = true
                return condition(self)
            }
            consume(String(decoding: chunk, as: UTF8.self))
        }
        return true
    }

    /// Reads to the end of the response.
    func readToEnd() throws { try read { $0.ended } }

    private func consume(_ chunk: String) {
        text += chunk
        if !headDone {
            guard let range = text.range(of: "\r\n\r\n") else { return }
            head = String(text[..<range.lowerBound])
            text = String(text[range.upperBound...])
            rawBody += text
            headDone = true
        } else {
            rawBody += chunk
        }
        while let range = text.range(of: "\n\n") {
            let block = String(text[..<range.lowerBound])
            text = String(text[range.upperBound...])
            var event = Event(data: "")
            var dataLines: [String] = []
            var isComment = true
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") {
                    comments.append(String(line.dropFirst(1)).trimmingCharacters(in: .whitespaces))
                    continue
                }
                isComment = false
                let parts = line.split(separator: ":", maxSplits: 1)
                let name = String(parts.first ?? "")
                var value = parts.count > 1 ? String(parts[1]) : ""
                if value.hasPrefix(" ") { value.removeFirst() }
                switch name {
                case "id": event.id = value
                case "event": event.event = value
                case "data": dataLines.append(value)
                case "retry": event.retry = value
                default: break
                }
            }
            if isComment { continue }
            event.data = dataLines.joined(separator: "\n")
            events.append(event)
        }
    }
}
