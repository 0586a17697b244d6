import Foundation
import HTTPClient
import Testing
import TestSupport

@Suite("HTTPClient streaming")
struct HTTPClientStreamTests {
    let server: TestHTTPServer

    init() throws {
        HTTPClient.globalInitialize()
        server = try TestHTTPServer.shared()
    }

    @Test func chunksArriveAsTheServerSendsThem() async throws {
        let url = server.url("/stream?n=5&interval=0.3")
        let (head, arrivals, text, headAt) = try await onDedicatedThread {
            let client = try HTTPClient()
            let started = now()
            var arrivals: [Double] = []
            var text: [UInt8] = []
            var headAt = -1.0
            let head = try client.stream(
                HTTPRequest(url: url, headers: [("Accept", "text/event-stream")], timeout: 0, idleTimeout: 5),
                onHead: { _ in headAt = now() - started; return true },
                onBytes: { chunk in
                    arrivals.append(now() - started)
                    text += chunk
                    return true
                })
            return (head, arrivals, String(decoding: text, as: UTF8.self), headAt)
        }
        #expect(head.status == 200)
        #expect(head.header("content-type") == "text/event-stream")
        #expect(text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.count == 5)
        #expect(arrivals.count >= 3, "several separate deliveries")
        // The stream takes ~1.5 s; the head and the first event must come long before its end.
        #expect(headAt >= 0 && headAt < 0.3)
        let first = try #require(arrivals.first)
        let last = try #require(arrivals.last)
        #expect(first < 0.3)
        #expect(last - first >= 0.9)
    }

    @Test func silentStreamStalls() async throws {
        let url = server.url("/stall?for=20")
        let (result, sawHead, bytes, elapsed) = try await onDedicatedThread {
            let client = try HTTPClient()
            let started = now()
            var sawHead: Int?
            var bytes: [UInt8] = []
            let result = try httpResult {
                try client.stream(
                    HTTPRequest(url: url, timeout: 0, idleTimeout: 1.5),
                    onHead: { head in sawHead = head.status; return true },
                    onBytes: { bytes += $0; return true })
            }
            return (result, sawHead, bytes, now() - started)
        }
        guard case .failure(let error) = result else {
            Issue.record("expected a stall error, got \(result)")
            return
        }
        #expect(error.kind == .stalled)
        #expect(!error.requestNotSent)
        #expect(sawHead == 200)
        #expect(String(decoding: bytes, as: UTF8.self) == ": first\n\n")
        #expect(elapsed >= 1.5 && elapsed < 4)
    }

    @Test func idleTimeoutDoesNotCutAnActiveStream() async throws {
        let url = server.url("/stream?n=6&interval=0.5")
        let text = try await onDedicatedThread {
            var bytes: [UInt8] = []
            _ = try HTTPClient().stream(
                HTTPRequest(url: url, timeout: 0, idleTimeout: 1.2), onHead: { _ in true },
                onBytes: { bytes += $0; return true })
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.count == 6)
    }

    @Test func readerStopsEndlessStreamCleanlyAndClientIsReusable() async throws {
        let endless = server.url("/endless")
        let echoURL = server.url("/echo")
        let (head, chunks, after) = try await onDedicatedThread {
            let client = try HTTPClient()
            var chunks = 0
            let head = try client.stream(
                HTTPRequest(url: endless, timeout: 10), onHead: { _ in true },
                onBytes: { _ in chunks += 1; return chunks < 3 })
            let after = try client.send(HTTPRequest(url: echoURL))
            return (head, chunks, after)
        }
        #expect(head.status == 200)
        #expect(chunks == 3, "no callback after the reader said stop")
        #expect(after.status == 200)
    }

    @Test func rejectingTheHeadAborts() async throws {
        let url = server.url("/status/500")
        let (result, bytesSeen) = try await onDedicatedThread {
            let client = try HTTPClient()
            var bytesSeen = 0
            let result = try httpResult {
                try client.stream(
                    HTTPRequest(url: url), onHead: { $0.status == 200 }, onBytes: { bytesSeen += $0.count; return true })
            }
            return (result, bytesSeen)
        }
        guard case .failure(let error) = result else {
            Issue.record("expected an aborted error, got \(result)")
            return
        }
        #expect(error.kind == .aborted)
        #expect(bytesSeen == 0)
    }

    @Test func reentrantUseIsRefused() async throws {
        let stream = server.url("/stream?n=2&interval=0.05")
        let echoURL = server.url("/echo")
        let (inner, outer) = try await onDedicatedThread {
            let client = try HTTPClient()
            var inner: Result<HTTPResponse, HTTPClientError>?
            let outer = try httpResult {
                try client.stream(HTTPRequest(url: stream), onHead: { _ in true }, onBytes: { _ in
                    if inner == nil { inner = try? httpResult { try client.send(HTTPRequest(url: echoURL)) } }
                    return true
                })
            }
            return (inner, outer)
        }
        guard case .failure(let error)? = inner else {
            Issue.record("expected the inner call to be refused, got \(String(describing: inner))")
            return
        }
        #expect(error.kind == .other)
        #expect(try outer.get().status == 200, "the outer stream is undisturbed")
    }

    @Test func shouldStopEndsAQuietStreamCleanly() async throws {
        let url = server.url("/stall?for=20")
        let (head, elapsed) = try await onDedicatedThread {
            let client = try HTTPClient()
            let started = now()
            let head = try client.stream(
                HTTPRequest(url: url, timeout: 0, idleTimeout: 300), onHead: { _ in true }, onBytes: { _ in true },
                shouldStop: { now() - started > 0.5 })
            return (head, now() - started)
        }
        #expect(head.status == 200)
        #expect(elapsed >= 0.5 && elapsed < 3)
    }
}
