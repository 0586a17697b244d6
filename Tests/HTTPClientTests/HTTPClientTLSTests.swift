import Foundation
import HTTPClient
import Testing
import TestSupport

@Suite("HTTPClient over TLS")
struct HTTPClientTLSTests {
    let server: TestHTTPServer

    init() throws {
        HTTPClient.globalInitialize()
        server = try TestHTTPServer.sharedTLS()
    }

    @Test func httpsWithTrustedCertificate() async throws {
        let url = server.url("/echo")
        let ca = server.certificatePath
        #expect(url.hasPrefix("https://"))
        let response = try await onDedicatedThread {
            try HTTPClient().send(HTTPRequest(
                method: "POST", url: url, headers: [("x-api-key", "k")], body: Array("{}".utf8), caCertificatePath: ca))
        }
        #expect(response.status == 200)
        #expect(try echo(response).body == "{}")
        #expect(try echo(response).header("x-api-key") == "k")
    }

    @Test func untrustedCertificateFailsBeforeSending() async throws {
        let url = server.url("/echo?key=secret")
        let result = try await onDedicatedThread {
            try httpResult { try HTTPClient().send(HTTPRequest(method: "POST", url: url, body: [1])) }
        }
        guard case .failure(let error) = result else {
            Issue.record("expected a TLS failure, got \(result)")
            return
        }
        #expect(error.kind == .tls)
        #expect(error.requestNotSent)
        #expect(!error.debugDescription.contains("secret"))
    }
}
