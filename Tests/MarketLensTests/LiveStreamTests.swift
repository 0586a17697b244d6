import Foundation
@testable import Engine
@testable import MarketLens
import Postgres
import Testing
import TestSupport

/// `GET /reports/{id}/events` end to end: real PostgreSQL (LISTEN/NOTIFY), an in-process worker, a FastCGI
/// client reading the stream as nginx would.
@Suite(.enabled(if: TestDatabase.isEnabled), .serialized)
struct LiveStreamTests {
    @Test func replaysAfterTheLastIdThenStreamsLiveAndEndsAfterCompleted() throws {
        try LiveHarness.with { harness in
            let (reportID, publicID) = try harness.makeReport()
            try harness.appendMessages(reportID, count: 6)
            let client = try harness.open(publicID, lastEventID: 2)
            try #require(try client.read { $0.ids.last == 6 })
            #expect(client.status == 200)
            #expect(client.head.contains("text/event-stream"))
            #expect(client.head.contains("X-Accel-Buffering: no"))
            #expect(client.events.first?.event == "connected")
            #expect(client.events.first?.retry == "2000")
            #expect(client.ids == [3, 4, 5, 6])
            try harness.appendMessages(reportID, count: 3, prefix: "live")
            try harness.appendCompleted(reportID)
            try client.readToEnd()
            #expect(client.ids == Array(3...10))
            #expect(client.events.last?.event == "completed")
            #expect(client.events.map(\.data).contains("{\"kind\":\"search\",\"text\":\"live 0\"}")
                || client.events.contains { $0.data.contains("\"live 0\"") })
            #expect(LiveHarness.waitUntil(timeout: 5) { harness.app.relayHub.openStreams == 0 })
        }
    }

    @Test func queryParameterResumesLikeTheHeaderAndTheAPIAliasIsTheSame() throws {
        try LiveHarness.with { harness in
            let (reportID, publicID) = try harness.makeReport()
            try harness.appendMessages(reportID, count: 4)
            try harness.appendCompleted(reportID)
            let viaQuery = try harness.open(publicID, query: "last_event_id=3")
            try viaQuery.readToEnd()
            #expect(viaQuery.ids == [4, 5])
            let viaAPI = try harness.open(publicID, lastEventID: 3, path: "/api/v1/reports/\(publicID)/events")
            try viaAPI.readToEnd()
            #expect(viaAPI.events == viaQuery.events)
        }
    }

    @Test func aCompletedReportReplaysEverythingAndEnds() throws {
        try LiveHarness.with { harness in
            let (reportID, publicID) = try harness.makeReport(status: "completed")
            try harness.appendMessages(reportID, count: 25)
            try harness.appendCompleted(reportID)
            let client = try harness.open(publicID)
            try client.readToEnd()
            #expect(client.ids == Array(1...26))
            #expect(client.events.last?.event == "completed")
        }
    }

    @Test func unknownReportIsA404JSONErrorBeforeAnyStream() throws {
        try LiveHarness.with { harness in
            let client = try harness.open("rpt_doesnotexist")
            try client.readToEnd()
            #expect(client.status == 404)
            #expect(client.head.contains("application/json"))
            #expect(!client.head.contains("event-stream"))
            let body = try harness.open("rpt_doesnotexist", path: "/api/v1/reports/rpt_doesnotexist/events")
            try body.readToEnd()
            #expect(body.status == 404)
        }
    }

    /// Viewers connect at random moments while events are being stored: each must get exactly the events
    /// after its last id, in order, with no gap and no duplicate (register-before-replay).
    @Test func viewersConnectingDuringAppendsSeeNoGapAndNoDuplicate() throws {
        try LiveHarness.with(threads: 40, settings: LiveSettings(maxStreams: 100)) { harness in
            let (reportID, publicID) = try harness.makeReport()
            let total = 400
            let writer = Thread {
                guard let connection = try? Connection(url: harness.databaseURL) else { return }
                for index in 0..<total {
                    _ = try? harness.appendMessages(reportID, count: 1, prefix: "e\(index)", on: connection)
                    if index % 20 == 0 { usleep(5_000) }
                }
                try? harness.appendCompleted(reportID, on: connection)
            }
            writer.start()
            let results = Mutex2<[(start: Int, ids: [Int])]>([])
            let group = DispatchGroup()
            for viewer in 0..<30 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    usleep(UInt32(viewer * 7_000))
                    let start = viewer % 3 == 0 ? viewer : 0
                    guard let client = try? harness.open(publicID, lastEventID: start) else { return }
                    try? client.readToEnd()
                    results.mutate { $0.append((start, client.ids)) }
                }.start()
            }
            group.wait()
            let all = results.value
            #expect(all.count == 30)
            let wrong = all.filter { $0.ids != Array(($0.start + 1)...(total + 1)) }
            #expect(wrong.isEmpty, "\(wrong.count) viewers saw a gap or a duplicate, e.g. \(wrong.first.map { "from \($0.start): \($0.ids.count) ids" } ?? "")")
        }
    }

    @Test func heartbeatCommentsKeepAnIdleStreamAlive() throws {
        try LiveHarness.with(settings: LiveSettings(heartbeatSeconds: 0.2)) { harness in
            let (_, publicID) = try harness.makeReport()
            let client = try harness.open(publicID)
            try #require(try client.read { $0.comments.filter { $0 == "heartbeat" }.count >= 2 })
            #expect(client.events.map(\.event) == ["connected"])
        }
    }

    /// Open streams hold no request thread: two threads keep 40 streams open, still answer a page, and every
    /// stream gets every event once.
    @Test func twoRequestThreadsServeFortyOpenStreamsAndStillAnswerPages() throws {
        try LiveHarness.with(threads: 2) { harness in
            let (reportID, publicID) = try harness.makeReport()
            let clients = try (0..<40).map { _ in try harness.open(publicID) }
            for client in clients { try #require(try client.read { $0.events.first?.event == "connected" }) }
            #expect(LiveHarness.waitUntil(timeout: 5) { harness.app.relayHub.openStreams == 40 })
            let page = try FastCGIClient.send(socketPath: harness.socketPath, params: FastCGIClient.params(uri: "/metrics"))
            #expect(page.status == 200)
            #expect(String(decoding: page.body, as: UTF8.self).contains(#"marketlens_live_streams_open{worker="0"} 40"#))
            try harness.appendMessages(reportID, count: 3)
            try harness.appendCompleted(reportID)
            for client in clients { try client.readToEnd() }
            #expect(clients.filter { $0.ids != [1, 2, 3, 4] }.count == 0)
            #expect(clients.allSatisfy { $0.events.last?.event == "completed" })
            #expect(LiveHarness.waitUntil(timeout: 5) { harness.app.relayHub.openStreams == 0 })
        }
    }

    @Test func aClientThatGoesAwayIsNoticedAndItsStreamFreed() throws {
        try LiveHarness.with(threads: 1, settings: LiveSettings(heartbeatSeconds: 0.2, maxStreams: 1)) { harness in
            let (_, publicID) = try harness.makeReport()
            let client = try harness.open(publicID)
            try #require(try client.read { $0.events.count >= 1 })
            #expect(harness.app.relayHub.openStreams == 1)
            client.connection.close()
            #expect(LiveHarness.waitUntil(timeout: 5) { harness.app.relayHub.openStreams == 0 })
            // The stream's slot under the cap is free again.
            let again = try harness.open(publicID)
            #expect(try again.read { $0.events.first?.event == "connected" })
        }
    }

    @Test func overTheStreamCapAViewerGets200WithRetryAndAnEnd() throws {
        try LiveHarness.with(settings: LiveSettings(maxStreams: 1)) { harness in
            let (_, publicID) = try harness.makeReport()
            let first = try harness.open(publicID)
            try #require(try first.read { $0.events.count >= 1 })
            let shed = try harness.open(publicID)
            try shed.readToEnd()
            #expect(shed.status == 200)
            #expect(shed.head.contains("text/event-stream"))
            #expect(shed.events.map(\.retry) == ["5000"])
            #expect(harness.app.relayHub.counters.shed == 1)
        }
    }

    /// One client address holds at most `maxStreamsPerClient` streams, report and batch streams together: past
    /// it an SSE client is told to come back (`retry:`), any other gets 429 JSON with `Retry-After`; a stream
    /// that ends gives its slot back.
    @Test func pastItsStreamCapAClientGetsRetryOr429() throws {
        try LiveHarness.with(settings: LiveSettings(heartbeatSeconds: 0.2, maxStreamsPerClient: 2)) { harness in
            let (_, publicID) = try harness.makeReport()
            let batch = try BatchStore.create(
                BatchRequest(researchGoal: "Find fintech companies", companyDomains: ["stripe.com"], searchDepth: .quick,
                             maxParallelSearches: 5, confidenceThreshold: 0.7),
                on: try Connection(url: harness.databaseURL))
            let report = try harness.open(publicID)
            try #require(try report.read { $0.events.count >= 1 })
            let batchViewer = try harness.open(batch.publicID, path: "/research/batch/\(batch.publicID)/events")
            try #require(try batchViewer.read { $0.events.count >= 2 })

            let sse = try harness.open(publicID)
            try sse.readToEnd()
            #expect(sse.status == 200 && sse.events.map(\.retry) == ["5000"])
            let plain = try harness.open(batch.publicID, path: "/research/batch/\(batch.publicID)/events",
                                         accept: "application/json")
            try plain.readToEnd()
            #expect(plain.status == 429)
            #expect(plain.head.lowercased().contains("retry-after: 5"))
            #expect(plain.rawBody.contains(#""code":"rate_limited""#))

            report.connection.close()
            #expect(LiveHarness.waitUntil(timeout: 5) { harness.app.relayHub.openStreams == 1 })
            let again = try harness.open(publicID)
            #expect(try again.read { $0.events.first?.event == "connected" })
        }
    }

    /// A viewer that stops reading is disconnected once its queue passes the bound; it does not hold events
    /// (or memory) without limit, and its reconnect replays what it missed.
    @Test func aSlowConsumerIsDisconnectedAndItsReconnectReplays() throws {
        try LiveHarness.with(settings: LiveSettings(queueEventLimit: 10)) { harness in
            let (reportID, publicID) = try harness.makeReport()
            let slow = try harness.open(publicID)
            try #require(try slow.read { $0.events.count >= 1 })
            // 16 KiB events fill the connection's buffers after a few; the rest pile up in the relay's queue.
            for _ in 0..<12 {
                try harness.appendMessages(reportID, count: 5, padding: 16 * 1024)
                usleep(50_000)
            }
            #expect(LiveHarness.waitUntil(timeout: 10) { harness.app.relayHub.counters.overflows == 1 })
            try harness.appendCompleted(reportID)
            try slow.readToEnd()
            #expect(slow.events.last?.event != "completed")
            let received = slow.ids
            #expect(!received.isEmpty && received == Array(1...(received.last ?? 1)))
            #expect(LiveHarness.waitUntil(timeout: 5) { harness.app.relayHub.openStreams == 0 })
            let again = try harness.open(publicID, lastEventID: received.last ?? 0)
            try again.readToEnd()
            #expect(again.ids == Array(((received.last ?? 0) + 1)...61))
        }
    }

    /// The hub's LISTEN connection is killed mid-stream: it reconnects, viewers re-read the log, nothing is lost.
    @Test func theHubSurvivesLosingItsDatabaseConnection() throws {
        try LiveHarness.with { harness in
            let (reportID, publicID) = try harness.makeReport()
            let client = try harness.open(publicID)
            try harness.appendMessages(reportID, count: 3)
            try #require(try client.read { $0.ids.last == 3 })
            let admin = try Connection(url: harness.databaseURL)
            _ = try admin.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()
                """)
            try harness.appendMessages(reportID, count: 3, prefix: "during", on: admin)
            try #require(try client.read { $0.ids.last == 6 })
            try harness.appendMessages(reportID, count: 2, prefix: "after", on: admin)
            try harness.appendCompleted(reportID, on: admin)
            try client.readToEnd()
            #expect(client.ids == Array(1...9))
        }
    }
}

/// A lock-protected value for test threads.
final class Mutex2<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
