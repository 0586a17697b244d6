import FastCGIServer
import Foundation
import Testing
import TestSupport
import Web

@Suite("Worker end to end")
struct WorkerTests {
    @Test("GET and POST round trip with headers, query, body and request id")
    func roundTrip() throws {
        let worker = try TestWorker { request, _ in
            let summary = [
                request.method, request.path, request.query, request.headers["X-Custom-Thing"] ?? "-",
                request.headers["Content-Type"] ?? "-", request.scheme, request.remoteAddress, request.requestID,
                String(decoding: request.body, as: UTF8.self),
            ].joined(separator: "|")
            return Response(status: 200, contentType: "text/plain", text: summary, headers: ["X-Reply": "yes"])
        }
        defer { worker.stop() }

        let get = try worker.send("GET", "/r/a%2Fb?q=cold+chain", headers: [("X-Custom-Thing", "v1")],
                                  requestID: "abc123")
        #expect(get.status == 200)
        #expect(text(get.body) == "GET|/r/a%2Fb|q=cold+chain|v1|-|https|127.0.0.1|abc123|")
        #expect(FastCGIClient.header("X-Reply", in: get.headers) == "yes")
        #expect(FastCGIClient.header("Content-Length", in: get.headers) == String(get.body.count))

        let body = Array("industry=cold%20chain".utf8)
        let post = try worker.send("POST", "/reports", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                   body: body)
        let fields = text(post.body).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        #expect(fields[0] == "POST")
        #expect(fields[4] == "application/x-www-form-urlencoded")
        #expect(fields[7].count == 16, "a request id is generated when nginx sends none")
        #expect(fields[8] == "industry=cold%20chain")
    }

    @Test("a handler's 404 reaches the client with its body")
    func notFound() throws {
        let worker = try TestWorker { request, _ in
            Response(status: 404, contentType: "text/html", text: "<h1>No such page: \(request.path)</h1>")
        }
        defer { worker.stop() }
        let response = try worker.send("GET", "/nope")
        #expect(response.status == 404)
        #expect(text(response.body) == "<h1>No such page: /nope</h1>")
    }

    @Test("header values cannot split the response")
    func headerInjection() throws {
        let worker = try TestWorker { _, _ in
            Response(status: 200, headers: ["X-Evil": "a\r\nSet-Cookie: stolen=1", "Bad Name": "x"],
                     body: .bytes(Array("ok".utf8)))
        }
        defer { worker.stop() }
        let response = try worker.send()
        #expect(FastCGIClient.header("Set-Cookie", in: response.headers) == nil)
        #expect(FastCGIClient.header("X-Evil", in: response.headers) == "aSet-Cookie: stolen=1")
        #expect(text(response.body) == "ok")
    }

    @Test("a streamed response arrives in pieces as the handler flushes")
    func streaming() throws {
        let proceed = DispatchSemaphore(value: 0)
        let worker = try TestWorker { _, _ in
            Response(status: 200, headers: ["Content-Type": "text/event-stream"], body: .stream { writer in
                try writer.write("data: one\n\n")
                try writer.flush()
                _ = proceed.wait(timeout: .now() + 5)
                try writer.write("data: two\n\n")
                try writer.flush()
            })
        }
        defer { worker.stop() }
        let connection = try FastCGIClient.Connection(socketPath: worker.path, timeout: 5)
        try connection.sendRequest(params: FastCGIClient.params(uri: "/events"))
        var received: [UInt8] = []
        while !text(received).contains("data: one") {
            received += try #require(try connection.nextOutput())
        }
        #expect(!text(received).contains("two"), "the second event must not exist before the handler is released")
        #expect(text(received).hasPrefix("Status: 200 OK\r\n"))
        #expect(!text(received).contains("Content-Length"))
        proceed.signal()
        while let chunk = try connection.nextOutput() { received += chunk }
        #expect(text(received).hasSuffix("data: one\n\ndata: two\n\n"))
    }

    @Test("a streaming handler sees ClientGone when the client leaves, and its thread serves the next request")
    func clientDisconnect() throws {
        let sawGone = DispatchSemaphore(value: 0)
        let worker = try TestWorker(threads: 1) { request, _ in
            if request.path == "/next" { return Response(status: 200, contentType: "text/plain", text: "next") }
            return Response(status: 200, body: .stream { writer in
                for index in 0..<500 {
                    do {
                        try writer.write("data: \(index)\n\n")
                        try writer.flush()
                    } catch is ClientGone {
                        sawGone.signal()
                        throw ClientGone()
                    }
                    Thread.sleep(forTimeInterval: 0.01)
                }
            })
        }
        defer { worker.stop() }
        let connection = try FastCGIClient.Connection(socketPath: worker.path, timeout: 5)
        try connection.sendRequest(params: FastCGIClient.params(uri: "/events"))
        _ = try connection.nextOutput()
        connection.close()
        #expect(sawGone.wait(timeout: .now() + 5) == .success)
        let next = try worker.send("GET", "/next")
        #expect(text(next.body) == "next")
    }

    @Test("bodies over the limit get 413 without reaching the handler")
    func oversizedBody() throws {
        let calls = Counter()
        let worker = try TestWorker(maxBodyBytes: 1000) { request, _ in
            _ = calls.next()
            return Response(status: 200, contentType: "text/plain", text: "\(request.body.count)")
        }
        defer { worker.stop() }
        let ok = try worker.send("POST", "/upload", body: [UInt8](repeating: 65, count: 1000))
        #expect(ok.status == 200)
        #expect(text(ok.body) == "1000")
        let big = try worker.send("POST", "/upload", body: [UInt8](repeating: 65, count: 200_000))
        #expect(big.status == 413)
        // Without CONTENT_LENGTH the limit is enforced while reading.
        var params = FastCGIClient.params(method: "POST", uri: "/upload")
        params["CONTENT_LENGTH"] = nil
        let unannounced = try FastCGIClient.send(socketPath: worker.path, params: params,
                                                 body: [UInt8](repeating: 65, count: 5000))
        #expect(unannounced.status == 413)
        #expect(calls.current == 1)
    }

    @Test("a CONTENT_LENGTH that is not a number or disagrees with the body gets 400")
    func badContentLength() throws {
        let calls = Counter()
        let worker = try TestWorker { _, _ in
            _ = calls.next()
            return Response(status: 200, contentType: "text/plain", text: "handled")
        }
        defer { worker.stop() }
        for declared in ["abc", "-5", "12x", "99999999999999999999999"] {
            var params = FastCGIClient.params(method: "POST", uri: "/x")
            params["CONTENT_LENGTH"] = declared
            let response = try FastCGIClient.send(socketPath: worker.path, params: params, body: Array("hello".utf8))
            #expect(response.status == 400, "CONTENT_LENGTH \(declared)")
        }
        var short = FastCGIClient.params(method: "POST", uri: "/x")
        short["CONTENT_LENGTH"] = "10"
        #expect(try FastCGIClient.send(socketPath: worker.path, params: short, body: Array("hello".utf8)).status == 400)
        short["CONTENT_LENGTH"] = "2"
        #expect(try FastCGIClient.send(socketPath: worker.path, params: short, body: Array("hello".utf8)).status == 400)
        #expect(calls.current == 0)
        #expect(try worker.send("GET", "/fine").status == 200)
    }

    @Test("malformed records and garbage bytes do not hurt the worker")
    func garbage() throws {
        let worker = try TestWorker(threads: 1) { _, _ in Response(status: 200, contentType: "text/plain", text: "alive") }
        defer { worker.stop() }
        let attacks: [[UInt8]] = [
            Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            [UInt8](repeating: 0xFF, count: 4096),
            FastCGIClient.record(type: 1, content: [0, 1, 0, 0, 0, 0, 0, 0])
                + FastCGIClient.record(type: 4, content: [0x80, 0xFF, 0xFF, 0xFF, 5, 1, 2, 3]),
            FastCGIClient.record(type: 1, content: [0, 9, 0, 0, 0, 0, 0, 0]),
            FastCGIClient.record(type: 1, content: [0, 1, 0, 0, 0, 0, 0, 0])
                + FastCGIClient.record(type: 4, content: [3, 1, 65]),
            FastCGIClient.record(type: 1, content: [0, 1, 0, 0, 0, 0, 0, 0])
                + FastCGIClient.record(type: 4, content: []) + FastCGIClient.record(type: 9, content: [1, 2, 3]),
            [1, 1, 0],
        ]
        for bytes in attacks {
            _ = try? FastCGIClient.sendRaw(socketPath: worker.path, bytes: bytes, timeout: 5)
            let response = try worker.send()
            #expect(text(response.body) == "alive")
        }
    }

    @Test("many concurrent requests are spread over the request threads")
    func concurrency() throws {
        let worker = try TestWorker(threads: 4) { request, handlerID in
            Thread.sleep(forTimeInterval: 0.05)
            return Response(status: 200, contentType: "text/plain", text: "\(handlerID) \(request.query)")
        }
        defer { worker.stop() }
        let results = Box<[String]>([])
        let group = DispatchGroup()
        for index in 0..<24 {
            group.enter()
            Thread {
                if let response = try? FastCGIClient.send(
                    socketPath: worker.path, params: FastCGIClient.params(uri: "/c?n=\(index)")) {
                    results.mutate { $0.append(text(response.body)) }
                }
                group.leave()
            }.start()
        }
        #expect(group.wait(timeout: .now() + 20) == .success)
        let bodies = results.value
        #expect(bodies.count == 24)
        #expect(Set(bodies.map { $0.split(separator: " ")[1] }).count == 24)
        #expect(Set(bodies.map { $0.split(separator: " ")[0] }).count > 1, "more than one thread answered")
    }

    @Test("stop lets an in-flight request finish, refuses new ones, removes the socket and returns")
    func gracefulStop() throws {
        let started = DispatchSemaphore(value: 0)
        let backgroundStopped = DispatchSemaphore(value: 0)
        let worker = try TestWorker(threads: 3, backgroundTasks: [{ signal in
            while !signal.wait(timeout: .milliseconds(20)) {}
            backgroundStopped.signal()
        }]) { _, _ in
            started.signal()
            Thread.sleep(forTimeInterval: 0.5)
            return Response(status: 200, contentType: "text/plain", text: "slow but done")
        }
        let slow = Box<FastCGIClient.Response?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            slow.mutate { $0 = try? FastCGIClient.send(socketPath: worker.path, params: FastCGIClient.params()) }
            finished.signal()
        }.start()
        #expect(started.wait(timeout: .now() + 5) == .success)
        let begin = Date()
        #expect(worker.stop(timeout: 10), "run() must return")
        #expect(Date().timeIntervalSince(begin) < 3)
        #expect(finished.wait(timeout: .now() + 5) == .success)
        #expect(slow.value.map { text($0.body) } == "slow but done")
        #expect(backgroundStopped.wait(timeout: .now() + 1) == .success)
        #expect(!FileManager.default.fileExists(atPath: worker.path))
        #expect(throws: (any Error).self) { try FastCGIClient.send(socketPath: worker.path, params: FastCGIClient.params()) }
        #expect(worker.runError == nil)
    }

    @Test("run gives up on a stuck request after the grace period")
    func graceExpires() throws {
        let started = DispatchSemaphore(value: 0)
        let worker = try TestWorker(threads: 1, grace: .milliseconds(300)) { _, _ in
            started.signal()
            Thread.sleep(forTimeInterval: 3)
            return Response(status: 200)
        }
        Thread { _ = try? FastCGIClient.send(socketPath: worker.path, params: FastCGIClient.params()) }.start()
        #expect(started.wait(timeout: .now() + 5) == .success)
        let begin = Date()
        #expect(worker.stop(timeout: 10))
        #expect(Date().timeIntervalSince(begin) < 2)
        #expect(!FileManager.default.fileExists(atPath: worker.path))
    }

    @Test("a second worker on a live socket fails to start instead of stealing it")
    func socketInUse() throws {
        let worker = try TestWorker { _, _ in Response(status: 200) }
        defer { worker.stop() }
        let second = Worker(configuration: WorkerConfiguration(socketPath: worker.path, threads: 1, handlesSignals: false),
                            factory: ClosureFactory { _, _ in Response(status: 500) }, logger: .init(label: "t"))
        #expect(throws: (any Error).self) { try second.run() }
        #expect(try worker.send().status == 200)
    }
}
