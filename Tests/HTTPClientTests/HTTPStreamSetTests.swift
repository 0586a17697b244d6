import Foundation
import HTTPClient
import Testing
import TestSupport

/// What one followed stream saw.
struct StreamLog: Sendable {
    var status: Int?
    var chunkTimes: [Double] = []
    var text = ""
    var end: Result<Int, HTTPClientError>?
    var endTime: Double?
}

/// Polls `set` until it follows nothing or `limit` seconds pass.
func drain(_ set: HTTPStreamSet, limit: Double) throws {
    let deadline = now() + limit
    while set.count > 0, now() < deadline {
        try set.poll(timeout: 0.2)
    }
}

@Suite("HTTPStreamSet: many streams from one thread")
struct HTTPStreamSetTests {
    let server: TestHTTPServer

    init() throws {
        HTTPClient.globalInitialize()
        server = try TestHTTPServer.shared()
    }

    @Test func threeStreamsRunConcurrentlyAndEndIndependently() async throws {
        let urls = ["short": server.url("/stream?n=2&interval=0.3"),
                    "medium": server.url("/stream?n=4&interval=0.3"),
                    "long": server.url("/stream?n=6&interval=0.3")]
        let (logs, elapsed) = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            var logs: [String: StreamLog] = [:]
            let started = now()
            for (id, url) in urls {
                logs[id] = StreamLog()
                try set.add(
                    HTTPRequest(url: url, timeout: 0, idleTimeout: 5), id: id,
                    onHead: { logs[id]?.status = $0.status; return true },
                    onBytes: { chunk in
                        logs[id]?.chunkTimes.append(now() - started)
                        logs[id]?.text += String(decoding: chunk, as: UTF8.self)
                        return true
                    },
                    onEnd: { result in
                        logs[id]?.end = result.map(\.status)
                        logs[id]?.endTime = now() - started
                    })
            }
            #expect(set.count == 3)
            try drain(set, limit: 10)
            return (logs, now() - started)
        }
        for (id, events) in [("short", 2), ("medium", 4), ("long", 6)] {
            let log = try #require(logs[id])
            #expect(log.status == 200, "\(id)")
            #expect(log.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.count == events, "\(id)")
            #expect(try log.end?.get() == 200, "\(id)")
        }
        // Sequentially this would take 12 × 0.3 s; together it takes about as long as the longest stream.
        #expect(elapsed < 2.8)
        let shortEnd = try #require(logs["short"]?.endTime)
        let mediumEnd = try #require(logs["medium"]?.endTime)
        let longEnd = try #require(logs["long"]?.endTime)
        #expect(shortEnd < mediumEnd && mediumEnd < longEnd)
        // The long stream kept receiving after the short one had ended.
        #expect(logs["long"]?.chunkTimes.contains { $0 > shortEnd + 0.3 } == true)
    }

    @Test func oneFailingStreamDoesNotDisturbTheOthers() async throws {
        let good = server.url("/stream?n=3&interval=0.1")
        let logs = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            var ends: [String: Result<Int, HTTPClientError>] = [:]
            for (id, url) in [("a", good), ("refused", "http://127.0.0.1:18199/x"), ("b", good)] {
                try set.add(HTTPRequest(url: url, timeout: 0), id: id, onHead: { _ in true }, onBytes: { _ in true },
                            onEnd: { ends[id] = $0.map(\.status) })
            }
            try drain(set, limit: 10)
            return ends
        }
        #expect(try logs["a"]?.get() == 200)
        #expect(try logs["b"]?.get() == 200)
        guard case .failure(let error)? = logs["refused"] else {
            Issue.record("expected a failure, got \(String(describing: logs["refused"]))")
            return
        }
        #expect(error.kind == .couldNotConnect)
        #expect(error.requestNotSent)
    }

    @Test func silentStreamStallsWhileAnotherFlows() async throws {
        let stall = server.url("/stall?for=20")
        let flowing = server.url("/stream?n=8&interval=0.3")
        let (ends, stallTime) = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            var ends: [String: Result<Int, HTTPClientError>] = [:]
            var stallTime = 0.0
            let started = now()
            try set.add(HTTPRequest(url: stall, timeout: 0, idleTimeout: 1), id: "stall",
                        onHead: { _ in true }, onBytes: { _ in true },
                        onEnd: { ends["stall"] = $0.map(\.status); stallTime = now() - started })
            try set.add(HTTPRequest(url: flowing, timeout: 0, idleTimeout: 1), id: "flowing",
                        onHead: { _ in true }, onBytes: { _ in true }, onEnd: { ends["flowing"] = $0.map(\.status) })
            try drain(set, limit: 10)
            return (ends, stallTime)
        }
        guard case .failure(let error)? = ends["stall"] else {
            Issue.record("expected a stall, got \(String(describing: ends["stall"]))")
            return
        }
        #expect(error.kind == .stalled)
        #expect(stallTime >= 1 && stallTime < 3.5)
        #expect(try ends["flowing"]?.get() == 200)
    }

    @Test func silentStreamsStallEachAtItsOwnLimitAndARemovedOneIsForgotten() async throws {
        let stall = server.url("/stall?for=20")
        let ends = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            var ends: [(id: String, kind: HTTPClientError.Kind?, after: Double)] = []
            let started = now()
            func add(_ id: String, idle: Double) throws {
                try set.add(HTTPRequest(url: stall, timeout: 0, idleTimeout: idle), id: id,
                            onHead: { _ in true }, onBytes: { _ in true },
                            onEnd: { result in
                                if case .failure(let error) = result { ends.append((id, error.kind, now() - started)) }
                                else { ends.append((id, nil, now() - started)) }
                            })
            }
            // "reused" first waits 0.5 s, is removed, and comes back under the same id with the longest limit: the
            // check left behind by the removed one must neither end nor shorten the new one.
            try add("reused", idle: 0.5)
            set.remove("reused")
            try add("reused", idle: 3.6)
            try add("late", idle: 2.4)
            try add("early", idle: 1.2)
            try drain(set, limit: 10)
            return ends
        }
        #expect(ends.map(\.id) == ["early", "late", "reused"], "\(ends)")
        #expect(ends.allSatisfy { $0.kind == .stalled }, "\(ends)")
        if let reused = ends.first(where: { $0.id == "reused" }) { #expect(reused.after >= 3.6) }
    }

    @Test func removingFromACallbackStopsWithoutOnEnd() async throws {
        let url = server.url("/endless")
        let (chunks, ended, count) = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            var chunks = 0
            var ended = false
            try set.add(HTTPRequest(url: url, timeout: 0), id: "endless", onHead: { _ in true },
                        onBytes: { _ in
                            chunks += 1
                            if chunks == 3 { set.remove("endless") }
                            return true
                        },
                        onEnd: { _ in ended = true })
            try drain(set, limit: 5)
            // A few more polls: nothing more may arrive for the removed stream.
            for _ in 0..<3 { try set.poll(timeout: 0.1) }
            return (chunks, ended, set.count)
        }
        #expect(chunks == 3)
        #expect(!ended)
        #expect(count == 0)
    }

    @Test func readerStopIsACleanEndAndOnEndMayAddMore() async throws {
        let endless = server.url("/endless")
        let echo = server.url("/echo")
        let (first, second) = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            var first: Result<Int, HTTPClientError>?
            var second: Result<Int, HTTPClientError>?
            var chunks = 0
            try set.add(HTTPRequest(url: endless, timeout: 0), id: "one", onHead: { _ in true },
                        onBytes: { _ in chunks += 1; return chunks < 2 },
                        onEnd: { result in
                            first = result.map(\.status)
                            do {
                                // The finished id is free again.
                                try set.add(HTTPRequest(url: echo), id: "one", onHead: { _ in true },
                                            onBytes: { _ in true }, onEnd: { second = $0.map(\.status) })
                            } catch {
                                Issue.record("add from onEnd failed: \(error)")
                            }
                        })
            try drain(set, limit: 5)
            return (first, second)
        }
        #expect(try first?.get() == 200)
        #expect(try second?.get() == 200)
    }

    @Test func duplicateIDIsRefused() async throws {
        let url = server.url("/stream?n=1&interval=0")
        let refused = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            try set.add(HTTPRequest(url: url), id: "x", onHead: { _ in true }, onBytes: { _ in true }, onEnd: { _ in })
            let refused = (try? set.add(HTTPRequest(url: url), id: "x", onHead: { _ in true }, onBytes: { _ in true },
                                        onEnd: { _ in })) == nil
            try drain(set, limit: 5)
            return refused
        }
        #expect(refused)
    }

    @Test func pollWithNothingToFollowWaitsTheTimeout() async throws {
        let elapsed = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            let started = now()
            try set.poll(timeout: 0.3)
            return now() - started
        }
        #expect(elapsed >= 0.25 && elapsed < 1)
    }
}

@Suite("HTTPStreamSet waker")
struct HTTPStreamSetWakerTests {
    @Test func anotherThreadCutsAWaitShort() async throws {
        let elapsed = try await onDedicatedThread {
            let set = try HTTPStreamSet()
            let waker = set.waker
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.2)
                waker.wakeUp()
            }
            let started = now()
            try set.poll(timeout: 5)
            return now() - started
        }
        #expect(elapsed >= 0.15 && elapsed < 2)
    }
}
