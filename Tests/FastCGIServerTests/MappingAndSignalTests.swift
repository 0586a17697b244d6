@testable import FastCGIServer
import Foundation
import Testing
import TestSupport
import Web

@Suite("Request mapping")
struct RequestMappingTests {
    @Test("HTTP_* params become header names as browsers write them")
    func headerNames() {
        #expect(RequestMapping.headerName(fromParam: "HTTP_X_FOO") == "X-Foo")
        #expect(RequestMapping.headerName(fromParam: "HTTP_ACCEPT_LANGUAGE") == "Accept-Language")
        #expect(RequestMapping.headerName(fromParam: "HTTP_HOST") == "Host")
    }

    @Test("falls back sensibly when params are missing or odd")
    func fallbacks() {
        let bare = RequestMapping.request(from: [:])
        #expect(bare.method == "GET")
        #expect(bare.path == "/")
        #expect(bare.scheme == "http")
        let fromDocumentURI = RequestMapping.request(from: ["DOCUMENT_URI": "/library", "REQUEST_METHOD": "post"])
        #expect(fromDocumentURI.path == "/library")
        #expect(fromDocumentURI.method == "POST")
        let queryFromURI = RequestMapping.request(from: ["REQUEST_URI": "/a?b=c"])
        #expect(queryFromURI.path == "/a" && queryFromURI.query == "b=c")
        let withContentType = RequestMapping.request(from: [
            "CONTENT_TYPE": "application/json", "HTTP_CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "2",
        ])
        #expect(withContentType.headers.values("Content-Type") == ["application/json"])
        #expect(withContentType.headers["Content-Length"] == "2")
    }

    @Test("a request id that is unsafe to log is replaced")
    func requestIDs() {
        #expect(RequestMapping.requestID("4f2a9c") == "4f2a9c")
        let replaced = RequestMapping.requestID("evil\nline")
        #expect(replaced != "evil\nline" && replaced.count == 16)
        #expect(RequestMapping.requestID(nil) != RequestMapping.requestID(nil))
    }
}

@Suite("Signals")
struct SignalTests {
    @Test("SIGTERM stops a worker that handles signals: run returns and the socket is gone")
    func sigtermStopsWorker() throws {
        let path = FastCGIClient.temporarySocketPath()
        let worker = Worker(
            configuration: WorkerConfiguration(socketPath: path, threads: 2, handlesSignals: true),
            factory: ClosureFactory { _, _ in Response(status: 200, contentType: "text/plain", text: "up") },
            logger: .init(label: "test.signals"))
        let returned = DispatchSemaphore(value: 0)
        Thread {
            try? worker.run()
            returned.signal()
        }.start()
        try #require(worker.waitUntilListening(timeout: .seconds(10)))
        #expect(text(try FastCGIClient.send(socketPath: path, params: FastCGIClient.params()).body) == "up")
        kill(getpid(), SIGTERM)
        #expect(returned.wait(timeout: .now() + 10) == .success)
        #expect(worker.shutdown.isRequested)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
