import Foundation
import Logging
import Testing
import Web

private func text(_ response: Response) -> String {
    guard case .bytes(let bytes) = response.body else { return "<stream>" }
    return String(decoding: bytes, as: UTF8.self)
}

private func jsonObject(_ response: Response) throws -> [String: Any] {
    guard case .bytes(let bytes) = response.body else { throw HTTPError.internalServerError() }
    return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
}

private struct SecretLeak: Error, CustomStringConvertible {
    var description: String { "connection to db.internal:5432 failed for user admin" }
}

private struct PageRenderer: ErrorPageRenderer {
    func renderErrorPage(for error: HTTPError, request: Request) throws -> String {
        "<main>custom \(error.status) \(HTMLEscaping.escapeHTML(error.message))</main>"
    }
}

private struct FailingRenderer: ErrorPageRenderer {
    struct Broken: Error {}
    func renderErrorPage(for error: HTTPError, request: Request) throws -> String { throw Broken() }
}

/// Keeps log records so a test can check what was logged.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    // Guarded by `lock`: swift-log may call from any thread.
    private let lock = NSLock()
    private var stored: [(Logger.Level, String, Logger.Metadata)] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var records: [(Logger.Level, String, Logger.Metadata)] { lock.withLock { stored } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { stored.append((event.level, event.message.description, event.metadata ?? [:])) }
    }
}

@Suite("Error responses")
struct ErrorResponderTests {
    let logs = CapturingLogHandler()
    var responder: ErrorResponder { ErrorResponder(logger: Logger(label: "test") { _ in logs }) }

    @Test func unexpectedErrorsAreLoggedOnceWithRequestID() {
        _ = responder.response(for: SecretLeak(), request: Request(method: "GET", path: "/x", requestID: "req-42"))
        _ = responder.response(for: HTTPError.notFound(), request: Request(method: "GET", path: "/y", requestID: "r2"))
        let records = logs.records
        #expect(records.count == 1)
        #expect(records.first?.0 == .error)
        #expect(records.first?.2["request_id"] == "req-42")
    }

    @Test func jsonErrorBodyHasExactShape() throws {
        let error = HTTPError.unprocessable(fields: ["industry": "is required", "email": "is not valid"])
        let response = responder.response(for: error, request: Request(method: "POST", path: "/api/v1/reports"))
        #expect(response.status == 422)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(
            text(response)
                == #"{"error":{"code":"validation_failed","fields":{"email":"is not valid","industry":"is required"},"message":"Some fields are invalid."}}"#
        )
    }

    @Test func emptyFieldsStillPresentAndSlashesUnescaped() {
        let response = HTTPError.notFound("No report at /r/x.").jsonResponse()
        #expect(text(response) == #"{"error":{"code":"not_found","fields":{},"message":"No report at /r/x."}}"#)
    }

    @Test func unknownErrorsBecomeGeneric500WithoutLeaking() throws {
        let json = responder.response(for: SecretLeak(), request: Request(method: "GET", path: "/api/v1/reports/x"))
        #expect(json.status == 500)
        let error = try #require(try jsonObject(json)["error"] as? [String: Any])
        #expect(error["code"] as? String == "internal_error")
        #expect(!text(json).contains("db.internal"))

        let html = responder.response(for: SecretLeak(), request: Request(method: "GET", path: "/reports/x"))
        #expect(html.status == 500)
        #expect(html.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(!text(html).contains("db.internal"))
    }

    @Test func htmlClientsGetThePageRenderer() {
        let custom = ErrorResponder(pageRenderer: PageRenderer(), logger: Logger(label: "test"))
        let response = custom.response(
            for: HTTPError.notFound("Gone <b>"),
            request: Request(method: "GET", path: "/r/x", headers: ["Accept": "text/html,*/*;q=0.8"]))
        #expect(response.status == 404)
        #expect(text(response) == "<main>custom 404 Gone &lt;b&gt;</main>")
    }

    @Test func failingRendererFallsBackToEscapedPlainPage() {
        let custom = ErrorResponder(pageRenderer: FailingRenderer(), logger: Logger(label: "test"))
        let error = HTTPError.unprocessable(fields: ["<x>": "<script>alert(1)</script>"], message: "Bad \"input\"")
        let page = text(custom.response(for: error, request: Request(method: "POST", path: "/reports")))
        #expect(page.contains("<h1>Invalid input</h1>"))
        #expect(page.contains("Bad &quot;input&quot;"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!page.contains("<script>"))
        #expect(!page.contains("<x>"))
    }

    @Test func errorHeadersAreSent() {
        let limited = responder.response(
            for: HTTPError.tooManyRequests(retryAfter: 120), request: Request(method: "POST", path: "/reports"))
        #expect(limited.status == 429)
        #expect(limited.headers["Retry-After"] == "120")
        let notAllowed = responder.response(
            for: HTTPError.methodNotAllowed(allowed: ["GET", "HEAD"]), request: Request(method: "PUT", path: "/api/x"))
        #expect(notAllowed.headers["Allow"] == "GET, HEAD")
        #expect(HTTPError.serviceUnavailable(retryAfter: 0).headers["Retry-After"] == "1")
    }

    @Test func headErrorsHaveNoBody() {
        let response = responder.response(for: HTTPError.notFound(), request: Request(method: "HEAD", path: "/x"))
        #expect(response.status == 404)
        #expect(text(response) == "")
    }

    @Test func wantsJSONRule() {
        #expect(Request(method: "GET", path: "/api/v1/reports").wantsJSON)
        #expect(Request(method: "POST", path: "/research/batch/stream").wantsJSON)
        #expect(!Request(method: "GET", path: "/apiary").wantsJSON)
        #expect(!Request(method: "POST", path: "/api").wantsJSON)
        #expect(Request(method: "POST", path: "/webhooks/parallel").wantsJSON)
        #expect(!Request(method: "GET", path: "/reports/1").wantsJSON)
        #expect(Request(method: "GET", path: "/reports/1", headers: ["Accept": "application/json"]).wantsJSON)
        #expect(
            !Request(method: "GET", path: "/reports/1", headers: ["Accept": "text/html,application/json;q=0.9"])
                .wantsJSON)
        #expect(
            Request(method: "GET", path: "/reports/1", headers: ["Accept": "text/html;q=0.5, application/json"])
                .wantsJSON)
        #expect(!Request(method: "GET", path: "/", headers: ["Accept": "*/*"]).wantsJSON)
        #expect(Request(method: "GET", path: "/", headers: ["Accept": "text/html"]).acceptsHTML)
        #expect(!Request(method: "GET", path: "/", headers: ["Accept": "application/json"]).acceptsHTML)
    }

    @Test func routerRespondNeverThrows() {
        var router = Router<Void>()
        router.get("/fail") { _, _ in throw SecretLeak() }
        let response = router.respond(to: Request(method: "GET", path: "/fail"), context: (), errors: responder)
        #expect(response.status == 500)
        let missing = router.respond(to: Request(method: "GET", path: "/api/none"), context: (), errors: responder)
        #expect(missing.status == 404)
        #expect(text(missing).hasPrefix(#"{"error":{"code":"not_found""#))
    }
}
