import FastCGI
import Foundation
import Testing
import TestSupport

/// Runs `serve` for each accepted request on one dedicated thread until the listener shuts down.
final class SlotServer: @unchecked Sendable {
    let listener: Listener
    let path: String
    private let done = DispatchSemaphore(value: 0)

    init(serve: @escaping @Sendable (RequestSlot) throws -> Void) throws {
        path = FastCGIClient.temporarySocketPath()
        listener = try Listener(path: path)
        let listener = self.listener
        let done = self.done
        Thread {
            defer { done.signal() }
            guard let slot = try? RequestSlot(listener: listener) else { return }
            while (try? slot.accept()) == true {
                try? serve(slot)
                slot.finish()
            }
        }.start()
    }

    func stop() {
        listener.shutdown()
        _ = done.wait(timeout: .now() + 5)
        listener.close()
    }
}

@Suite("RequestSlot")
struct RequestSlotTests {
    @Test("copies params, reads the body and writes the response")
    func roundTrip() throws {
        let server = try SlotServer { slot in
            let body = try slot.readBody(limit: 1024)
            guard case .complete(let bytes) = body else { return }
            let method = slot.params["REQUEST_METHOD"] ?? "?"
            let agent = slot.params["HTTP_USER_AGENT"] ?? "?"
            try slot.write("Status: 201 Created\r\nContent-Type: text/plain\r\n\r\n")
            try slot.write("\(method) \(agent) ")
            try slot.write(bytes.reversed())
        }
        defer { server.stop() }
        let params = FastCGIClient.params(method: "POST", uri: "/x", headers: [("User-Agent", "probe/1")],
                                          body: Array("abc".utf8))
        let response = try FastCGIClient.send(socketPath: server.path, params: params, body: Array("abc".utf8))
        #expect(response.status == 201)
        #expect(FastCGIClient.header("content-type", in: response.headers) == "text/plain")
        #expect(String(decoding: response.body, as: UTF8.self) == "POST probe/1 cba")
    }

    @Test("reads a body of exactly the limit, reports one byte more as too large")
    func bodyLimit() throws {
        let server = try SlotServer { slot in
            let verdict: String
            switch try slot.readBody(limit: 100_000) {
            case .complete(let bytes): verdict = "complete \(bytes.count) \(bytes.last ?? 0)"
            case .tooLarge: verdict = "too large"
            }
            try slot.write("Status: 200 OK\r\n\r\n\(verdict)")
        }
        defer { server.stop() }
        let exact = [UInt8](repeating: 7, count: 100_000)
        let atLimit = try FastCGIClient.send(socketPath: server.path, params: FastCGIClient.params(method: "POST"),
                                             body: exact)
        #expect(String(decoding: atLimit.body, as: UTF8.self) == "complete 100000 7")
        let over = try FastCGIClient.send(socketPath: server.path, params: FastCGIClient.params(method: "POST"),
                                          body: exact + [1])
        #expect(String(decoding: over.body, as: UTF8.self) == "too large")
    }

    @Test("flush delivers output before the request ends")
    func flushDeliversEarly() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try SlotServer { slot in
            try slot.write("Status: 200 OK\r\n\r\nfirst")
            try slot.flush()
            _ = release.wait(timeout: .now() + 5)
            try slot.write("second")
        }
        defer { server.stop() }
        let connection = try FastCGIClient.Connection(socketPath: server.path, timeout: 3)
        try connection.sendRequest(params: FastCGIClient.params())
        let first = try #require(try connection.nextOutput())
        #expect(String(decoding: first, as: UTF8.self).hasSuffix("first"))
        release.signal()
        let second = try #require(try connection.nextOutput())
        #expect(String(decoding: second, as: UTF8.self) == "second")
        #expect(try connection.nextOutput() == nil)
    }

    @Test("a client that went away is reported as a lost connection")
    func flushReportsGoneClient() throws {
        let outcome = Box<FastCGIError?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let server = try SlotServer { slot in
            defer { finished.signal() }
            try slot.write("Status: 200 OK\r\n\r\nhello")
            try slot.flush()
            for _ in 0..<200 {
                Thread.sleep(forTimeInterval: 0.01)
                do throws(FastCGIError) {
                    try slot.write("more")
                    try slot.flush()
                } catch {
                    outcome.mutate { $0 = error }
                    return
                }
            }
        }
        defer { server.stop() }
        let connection = try FastCGIClient.Connection(socketPath: server.path, timeout: 3)
        try connection.sendRequest(params: FastCGIClient.params())
        _ = try connection.nextOutput()
        connection.close()
        #expect(finished.wait(timeout: .now() + 5) == .success)
        let error = try #require(outcome.value)
        #expect(error.isConnectionLost)
        #expect(error.call == "FCGX_FFlush" || error.call == "FCGX_PutStr")
    }

    @Test("garbage on the connection never reaches the caller; the next request is served")
    func garbageIsDropped() throws {
        let served = Box(0)
        let server = try SlotServer { slot in
            served.mutate { $0 += 1 }
            try slot.write("Status: 204 No Content\r\n\r\n")
        }
        defer { server.stop() }
        _ = try FastCGIClient.sendRaw(socketPath: server.path, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let ok = try FastCGIClient.send(socketPath: server.path, params: FastCGIClient.params())
        #expect(ok.status == 204)
        #expect(served.value == 1)
    }

    @Test("a detached request is written by another thread while the slot serves the next request")
    func detachedRequestOutlivesItsSlot() throws {
        let detached = Box<[DetachedRequest]>([])
        let server = try SlotServer { slot in
            if slot.params["REQUEST_URI"] == "/stream" {
                try slot.write("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nopened;")
                try slot.flush()
                guard let request = slot.detach() else { return }
                detached.mutate { $0.append(request) }
            } else {
                try slot.write("Status: 200 OK\r\n\r\npage")
            }
        }
        defer { server.stop() }
        let stream = try FastCGIClient.Connection(socketPath: server.path)
        try stream.sendRequest(params: FastCGIClient.params(uri: "/stream"))
        #expect(try stream.nextOutput().map { String(decoding: $0, as: UTF8.self) }?.hasSuffix("opened;") == true)
        // The slot's only thread is free: a second request is answered while the first stays open.
        let page = try FastCGIClient.send(socketPath: server.path, params: FastCGIClient.params(uri: "/page"))
        #expect(String(decoding: page.body, as: UTF8.self) == "page")
        let request = try #require(detached.value.first)
        #expect(request.isWritable)
        let writer = Thread {
            try? request.write(Array("later;".utf8))
            try? request.flush()
            request.finish()
        }
        writer.start()
        var rest = ""
        while let chunk = try stream.nextOutput() { rest += String(decoding: chunk, as: UTF8.self) }
        #expect(rest == "later;")
        // Finished: further writes fail instead of reaching a closed connection.
        #expect(throws: FastCGIError.self) { try request.write(Array("x".utf8)) }
    }

    @Test("a detached request whose client left fails its flush, and isWritable never blocks")
    func detachedRequestNoticesAGoneClient() throws {
        let detached = Box<[DetachedRequest]>([])
        let server = try SlotServer { slot in
            try slot.write("Status: 200 OK\r\n\r\n")
            try slot.flush()
            if let request = slot.detach() { detached.mutate { $0.append(request) } }
        }
        defer { server.stop() }
        let stream = try FastCGIClient.Connection(socketPath: server.path)
        try stream.sendRequest(params: FastCGIClient.params(uri: "/stream"))
        _ = try stream.nextOutput()
        #expect(Self.waitUntil { !detached.value.isEmpty })
        let request = try #require(detached.value.first)
        stream.close()
        var failed = false
        for _ in 0..<100 where !failed {
            _ = request.isWritable
            do {
                try request.write(Array(": heartbeat\n\n".utf8))
                try request.flush()
                usleep(10_000)
            } catch { failed = true }
        }
        #expect(failed)
        request.finish()
    }

    static func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 where !condition() { usleep(10_000) }
        return condition()
    }
}
