@testable import Engine
import Foundation
import Logging
import Postgres
import TestSupport
import Testing

/// The live fan-out on its own: a log that is neither reports nor batches (`notes`, one NOTIFY per append), real
/// PostgreSQL, the hub's listener thread. What a viewer notices: every appended event reaches its relay once, in
/// order, and a viewer of another log sees none of them.
@Suite(.enabled(if: TestDatabase.isEnabled), .serialized)
struct RelayHubTests {
    /// The toy log: same shape as the app's (owner id, gap-free seq, type, payload), notifying `<owner>:<seq>`.
    struct Notes: EventLogReader {
        let channel: String
        var channels: [String] { [channel] }

        func events(of key: StreamKey, after seq: Int, limit: Int, on connection: Connection) throws -> [LiveEvent] {
            try connection.query(
                "SELECT seq, type, payload FROM notes WHERE owner_id = \(key.id) AND seq > \(seq) ORDER BY seq LIMIT \(limit)"
            ).map { row in
                LiveEvent(seq: try row.int("seq"), type: try row.string("type"), data: try row.string("payload"),
                          isTerminal: try row.string("type") == "end")
            }
        }

        func fetch(after positions: [StreamKey: Int], on connection: Connection) throws -> [StreamKey: [LiveEvent]] {
            var found: [StreamKey: [LiveEvent]] = [:]
            for (key, after) in positions {
                let list = try events(of: key, after: after, limit: 1000, on: connection)
                if !list.isEmpty { found[key] = list }
            }
            return found
        }
    }

    static func append(_ owner: Int64, _ type: String, _ payload: String, channel: String, on connection: Connection) throws {
        try connection.execute(
            """
            WITH next AS (SELECT coalesce(max(seq), 0) + 1 AS seq FROM notes WHERE owner_id = \(owner))
            INSERT INTO notes (owner_id, seq, type, payload) SELECT \(owner), seq, \(type), \(payload) FROM next
            """)
        let seq = try connection.queryFirst("SELECT max(seq) AS seq FROM notes WHERE owner_id = \(owner)")?.int("seq") ?? 0
        try connection.execute("SELECT pg_notify(\(channel), \("\(owner):\(seq)"))")
    }

    @Test func appendedEventsReachTheirLogsRelaysOnceAndInOrder() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.executeScript(
                "CREATE TABLE notes (owner_id bigint NOT NULL, seq int NOT NULL, type text NOT NULL, payload text NOT NULL, PRIMARY KEY (owner_id, seq));")
            let channel = "notes_\(UInt32.random(in: 0...UInt32.max))"
            let hub = RelayHub(databaseURL: database.url, settings: LiveSettings(), logs: Notes(channel: channel),
                               logger: Logger(label: "test.hub"))
            let watched = try hub.register(StreamKey(channel: channel, id: 7), client: "192.0.2.1").get()
            let other = try hub.register(StreamKey(channel: channel, id: 8), client: "192.0.2.1").get()
            let stop = StopLatch()
            let done = StopLatch()
            let listener = RelayListener(hub: hub)
            Thread {
                listener.run(until: stop)
                done.request()
            }.start()
            defer {
                stop.request()
                _ = done.wait(timeout: .seconds(5))
            }
            // The listener asks every relay to re-read its log once it listens (notifications may have been
            // missed while it was not): from then on, appends reach the relay.
            let deadline = Date().addingTimeInterval(10)
            while watched.take(taking: true) != .resync, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            #expect(other.take(taking: true) == .resync)

            for n in 1...20 { try Self.append(7, n == 20 ? "end" : "note", "{\"n\":\(n)}", channel: channel, on: connection) }
            var seen: [LiveEvent] = []
            while seen.count < 20, Date() < deadline {
                switch watched.take(taking: true) {
                case .events(let events): seen += events
                case .idle: Thread.sleep(forTimeInterval: 0.02)
                case let wake: Issue.record("unexpected \(wake)"); return
                }
            }
            #expect(seen.map(\.seq) == Array(1...20), "every event once, in order")
            #expect(seen.last?.isTerminal == true)
            #expect(seen.first.map { String(decoding: $0.wire, as: UTF8.self) } == "id: 1\nevent: note\ndata: {\"n\":1}\n\n")
            #expect(other.take(taking: true) == .idle, "another log's viewer gets nothing")
            #expect(hub.openStreams == 2)
            hub.unregister(watched)
            hub.unregister(other)
            #expect(hub.openStreams == 0)
        }
    }

    @Test func aClientPastItsStreamCapIsRefusedAndAnotherClientIsNot() throws {
        let hub = RelayHub(databaseURL: "postgresql://unused@127.0.0.1:1/unused",
                           settings: LiveSettings(maxStreamsPerClient: 2), logs: Notes(channel: "unused"),
                           logger: Logger(label: "test.hub"))
        let key = StreamKey(channel: "unused", id: 1)
        let first = try hub.register(key, client: "198.51.100.1").get()
        _ = try hub.register(key, client: "198.51.100.1").get()
        guard case .failure(.clientFull) = hub.register(key, client: "198.51.100.1") else {
            Issue.record("a third stream of one client is refused")
            return
        }
        #expect((try? hub.register(key, client: "198.51.100.2").get()) != nil)
        hub.unregister(first)
        #expect((try? hub.register(key, client: "198.51.100.1").get()) != nil, "a freed slot is given back")
    }
}
