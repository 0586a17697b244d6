import Foundation
import Logging
import Testing
import Web
@testable import MarketLens

/// The app answering requests in-process, with no database reachable (a closed port): what a visitor sees
/// when PostgreSQL is down, and the input every route must refuse.
@Suite struct AppRoutingTests {
    static func handler() throws -> any RequestHandler {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let configuration = try AppConfiguration(environment: [
            "MARKETLENS_ROOT": root.path,
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
        ])
        return try MarketLensApp(configuration: configuration, logger: Logger(label: "test")).makeHandler()
    }

    static func body(_ response: Response) -> String {
        guard case .bytes(let bytes) = response.body else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: ["q=%G1", "q=%FF", "q=%C3%28", "q=%", "q=abc%2"])
    func badQueryEncodingIsA400OnEveryRoute(query: String) throws {
        let handler = try Self.handler()
        for path in ["/", "/healthz", "/nowhere"] {
            let response = handler.handle(Request(method: "GET", path: path, query: query))
            #expect(response.status == 400, "\(path)?\(query)")
        }
    }

    @Test func homePageStillServesTheFormWhenTheDatabaseIsDown() throws {
        let response = try Self.handler().handle(Request(method: "GET", path: "/"))
        #expect(response.status == 200)
        #expect(Self.body(response).contains(#"action="/reports""#))
        // The same page for every visitor without a cookie: no token made, no cookie set, shareable by nginx.
        #expect(Self.body(response).contains(#"name="csrf_token" value="""#))
        #expect(response.headers.values("Set-Cookie").isEmpty)
        #expect(response.headers["X-Accel-Expires"]?.hasPrefix("@") == true)
    }

    @Test func aVisitorWithTheCSRFCookieGetsItsTokenInAPersonalPage() throws {
        let token = String(repeating: "A", count: 43)
        let response = try Self.handler().handle(
            Request(method: "GET", path: "/", headers: ["Cookie": "__Host-csrf_token=\(token)"]))
        #expect(Self.body(response).contains(#"name="csrf_token" value="\#(token)""#))
        #expect(response.headers["Cache-Control"] == "no-store")
        #expect(response.headers["X-Accel-Expires"] == "0")
    }

    @Test func readinessSaysWhyAndLivenessStaysUp() throws {
        let handler = try Self.handler()
        let ready = handler.handle(Request(method: "GET", path: "/readyz"))
        #expect(ready.status == 503)
        #expect(Self.body(ready).contains("database unreachable"))
        #expect(handler.handle(Request(method: "GET", path: "/healthz")).status == 200)
    }

    @Test func unknownPagesAreStyled404sAndAPIErrorsAreJSON() throws {
        let handler = try Self.handler()
        let page = handler.handle(Request(method: "GET", path: "/no/such/page"))
        #expect(page.status == 404)
        #expect(Self.body(page).contains(#"class="site-header""#))
        let api = handler.handle(Request(method: "GET", path: "/api/v1/nothing"))
        #expect(api.status == 404)
        #expect(api.headers["Content-Type"]?.hasPrefix("application/json") == true)
        #expect(Self.body(api).contains(#""code":"not_found""#))
        let wrongMethod = handler.handle(Request(method: "DELETE", path: "/"))
        #expect(wrongMethod.status == 405)
    }
}
