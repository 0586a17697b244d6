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
}
