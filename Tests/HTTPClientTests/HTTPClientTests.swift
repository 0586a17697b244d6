import Foundation
import HTTPClient
import Testing
import TestSupport

/// The parsed body of the test server's `/echo`.
struct Echo: Decodable {
    var method: String
    var path: String
    var headers: [[String]]
    var body: String
    var clientPort: Int

    func header(_ name: String) -> String? {
        headers.first { $0.first?.lowercased() == name.lowercased() }?.last
    }
}

func echo(_ response: HTTPResponse) throws -> Echo {
    try JSONDecoder().decode(Echo.self, from: Data(response.body))
}

func now() -> Double { ProcessInfo.processInfo.systemUptime }

@Suite("HTTPClient against a local server")
struct HTTPClientTests {
    let server: TestHTTPServer

    init() throws {
        HTTPClient.globalInitialize()
        server = try TestHTTPServer.shared()
    }

    @Test func getSendsHeadersAndReadsResponseHeaders() async throws {
        let url = server.url("/echo?q=1")
        let response = try await onDedicatedThread {
            try HTTPClient().send(HTTPRequest(url: url, headers: [("X-Api-Key", "k-123"), ("Accept", "application/json")]))
        }
        #expect(response.status == 200)
        #expect(response.header("x-echo") == "yes")
        #expect(response.header("CONTENT-TYPE") == "application/json")
        let seen = try echo(response)
        #expect(seen.method == "GET")
        #expect(seen.path == "/echo?q=1")
        #expect(seen.header("x-api-key") == "k-123")
        #expect(seen.header("accept") == "application/json")
        #expect(seen.header("expect") == nil)
    }

    @Test func postSendsBinaryBodyExactly() async throws {
        let url = server.url("/echo")
        // Large enough that curl would ask for 100-continue by default, with NULs and high bytes.
        let body: [UInt8] = (0..<5000).map { UInt8($0 % 256) }
        let (response, elapsed) = try await onDedicatedThread {
            let client = try HTTPClient()
            let started = now()
            let response = try client.send(HTTPRequest(
                method: "POST", url: url, headers: [("Content-Type", "application/octet-stream")], body: body))
            return (response, now() - started)
        }
        #expect(elapsed < 0.9, "no wait for 100-continue")
        let seen = try echo(response)
        #expect(seen.method == "POST")
        #expect(Array(seen.body.unicodeScalars.map { UInt8($0.value) }) == body)
        #expect(seen.header("content-length") == "5000")
        #expect(seen.header("content-type") == "application/octet-stream")
        #expect(seen.header("expect") == nil)
    }

    @Test func otherMethodsAndEmptyPost() async throws {
        let url = server.url("/echo")
        let (put, delete, emptyPost, empty) = try await onDedicatedThread {
            let client = try HTTPClient()
            return (
                try client.send(HTTPRequest(method: "PUT", url: url, body: Array("x=1".utf8))),
                try client.send(HTTPRequest(method: "DELETE", url: url)),
                try client.send(HTTPRequest(method: "POST", url: url)),
                try client.send(HTTPRequest(url: url, headers: [("X-Empty", "")]))
            )
        }
        #expect(try echo(put).method == "PUT")
        #expect(try echo(put).body == "x=1")
        #expect(try echo(delete).method == "DELETE")
        #expect(try echo(delete).body == "")
        #expect(try echo(emptyPost).method == "POST")
        #expect(try echo(emptyPost).header("content-length") == "0")
        #expect(try echo(empty).header("x-empty") == "")
    }

    @Test(arguments: [404, 500, 503])
    func errorStatusesAreResponses(status: Int) async throws {
        let url = server.url("/status/\(status)")
        let response = try await onDedicatedThread { try HTTPClient().send(HTTPRequest(url: url)) }
        #expect(response.status == status)
        #expect(response.text == "status \(status)")
        #expect(response.header("retry-after") == "7")
    }

    @Test func redirectsAreReturnedUnlessFollowed() async throws {
        let url = server.url("/redirect")
        let (plain, followed) = try await onDedicatedThread {
            let client = try HTTPClient()
            return (try client.send(HTTPRequest(url: url)),
                    try client.send(HTTPRequest(url: url, followRedirects: true)))
        }
        #expect(plain.status == 302)
        #expect(plain.header("location") == "/echo?from=redirect")
        #expect(plain.text == "moved")
        #expect(followed.status == 200)
        #expect(followed.header("x-echo") == "yes", "headers are those of the final response")
        #expect(followed.header("location") == nil)
        #expect(try echo(followed).path == "/echo?from=redirect")
    }

    @Test func continueHeadIsSkipped() async throws {
        let url = server.url("/echo")
        let response = try await onDedicatedThread {
            try HTTPClient().send(HTTPRequest(
                method: "POST", url: url, headers: [("Expect", "100-continue")], body: Array(repeating: 65, count: 100)))
        }
        #expect(response.status == 200)
        #expect(response.header("x-echo") == "yes")
        #expect(try echo(response).body.count == 100)
    }

    @Test func oneClientServesManyRequestsOverOneConnection() async throws {
        let url = server.url("/echo")
        let responses = try await onDedicatedThread {
            let client = try HTTPClient()
            return try (0..<20).map { i in
                try client.send(HTTPRequest(method: i % 2 == 0 ? "GET" : "POST", url: url + "?i=\(i)", body: i % 2 == 0 ? [] : [1]))
            }
        }
        #expect(responses.map(\.status) == Array(repeating: 200, count: 20))
        let ports = Set(try responses.map { try echo($0).clientPort })
        #expect(ports.count == 1, "the connection is kept alive between requests")
    }

    @Test func headRequestHasNoBody() async throws {
        let url = server.url("/status/404")
        let response = try await onDedicatedThread { try HTTPClient().send(HTTPRequest(method: "HEAD", url: url)) }
        #expect(response.status == 404)
        #expect(response.body.isEmpty)
        #expect(response.header("content-length") == "10")
    }
}

/// The result of `body` with an `HTTPClientError` captured; any other error is thrown.
func httpResult<T>(_ body: () throws -> T) throws -> Result<T, HTTPClientError> {
    do { return .success(try body()) } catch let error as HTTPClientError { return .failure(error) }
}
