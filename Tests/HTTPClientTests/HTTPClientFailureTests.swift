import Foundation
import HTTPClient
import Testing
import TestSupport

@Suite("HTTPClient failures")
struct HTTPClientFailureTests {
    let server: TestHTTPServer

    init() throws {
        HTTPClient.globalInitialize()
        server = try TestHTTPServer.shared()
    }

    /// Runs a request expected to fail and returns its error.
    func failure(_ request: HTTPRequest) async throws -> HTTPClientError {
        let result = try await onDedicatedThread { () -> Result<HTTPResponse, HTTPClientError> in
            let client = try HTTPClient()
            do { return .success(try client.send(request)) } catch let error as HTTPClientError { return .failure(error) }
        }
        switch result {
        case .success(let response):
            Issue.record("expected a failure, got status \(response.status)")
            throw CancellationError()
        case .failure(let error):
            return error
        }
    }

    @Test func refusedConnectionWasNotSent() async throws {
        // 18199 is in this helper's reserved range and nothing listens on it.
        let error = try await failure(HTTPRequest(
            method: "POST", url: "http://127.0.0.1:18199/v1/tasks/runs?api_key=supersecret",
            headers: [("x-api-key", "supersecret")], body: Array("{}".utf8)))
        #expect(error.kind == .couldNotConnect)
        #expect(error.requestNotSent)
        #expect(error.call == "curl_easy_perform")
        #expect(error.code == 7)
        #expect(!error.description.contains("supersecret"))
        #expect(!error.debugDescription.contains("supersecret"))
        #expect(error.debugDescription.contains("/v1/tasks/runs"))
    }

    @Test func unknownHostDoesNotResolve() async throws {
        let error = try await failure(HTTPRequest(url: "http://marketlens-test.invalid/x", connectTimeout: 5))
        #expect(error.kind == .couldNotResolve)
        #expect(error.requestNotSent)
    }

    @Test func totalTimeout() async throws {
        let started = now()
        let error = try await failure(HTTPRequest(url: server.url("/slow?delay=3"), timeout: 0.5))
        let elapsed = now() - started
        #expect(error.kind == .timedOut)
        #expect(!error.requestNotSent, "the request reached the server")
        // No upper bound on wall time (the machine may be loaded): had the timeout not fired, the server's
        // answer after 3 s would have been a response, not `.timedOut`.
        #expect(elapsed >= 0.5)
    }

    @Test func serverClosingWithoutAnswer() async throws {
        let error = try await failure(HTTPRequest(method: "POST", url: server.url("/close"), body: [1]))
        #expect(error.kind == .receiveFailed)
        #expect(!error.requestNotSent)
    }

    @Test func malformedURL() async throws {
        let error = try await failure(HTTPRequest(url: "ftp://127.0.0.1/x"))
        #expect(error.kind == .other)
        #expect(error.requestNotSent)
    }

    @Test func headerLineBreaksAreRefused() async throws {
        let error = try await failure(HTTPRequest(url: server.url("/echo"), headers: [("X-A", "a\r\nX-Injected: 1")]))
        #expect(error.kind == .other)
        #expect(error.requestNotSent)
        #expect(!error.description.contains("Injected"))
    }

    @Test func redaction() {
        let request = HTTPRequest(url: "https://user:pw@api.example.com:8443/v1/runs?key=s#frag")
        #expect(request.redactedTarget == "GET https://api.example.com:8443/v1/runs")
    }
}
