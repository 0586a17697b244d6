import Logging
import Testing
import Web

/// A context standing in for the app's per-thread state.
struct TestContext { var name = "ctx" }

private func makeRouter() -> Router<TestContext> {
    var router = Router<TestContext>()
    router.get("/") { _, _ in .text("home") }
    router.get("/library") { _, _ in .text("library") }
    router.get("/reports/:id") { request, context in .text("report \(request.parameters["id"] ?? "?") \(context.name)") }
    router.post("/reports") { _, _ in .text("created", status: 201) }
    router.get("/r/:slug") { request, _ in .text("html \(request.parameters["slug"] ?? "")") }
    router.get("/r/:slug.md") { request, _ in .text("markdown \(request.parameters["slug"] ?? "")") }
    router.get("/reports/new") { _, _ in .text("new form") }
    router.get("/static/*rest") { request, _ in .text("static \(request.parameters["rest"] ?? "")") }
    router.delete("/reports/:id") { _, _ in .noContent }
    return router
}

private func body(_ response: Response) -> String {
    guard case .bytes(let bytes) = response.body else { return "<stream>" }
    return String(decoding: bytes, as: UTF8.self)
}

@Suite("Router")
struct RouterTests {
    let router = makeRouter()

    @Test func theMatchedPatternGoesToTheLogLineEvenWhenTheHandlerFails() {
        var failing = makeRouter()
        failing.get("/broken/:id") { _, _ in throw HTTPError.notFound("gone") }
        let errors = ErrorResponder(logger: Logger(label: "test"))
        let context = TestContext()
        #expect(failing.respond(to: Request(method: "GET", path: "/r/abc.md"), context: context, errors: errors)
            .logFields["route"] == "/r/:slug.md")
        let broken = failing.respond(to: Request(method: "GET", path: "/broken/7"), context: context, errors: errors)
        #expect(broken.status == 404 && broken.logFields["route"] == "/broken/:id")
        #expect(failing.respond(to: Request(method: "GET", path: "/nowhere"), context: context, errors: errors)
            .logFields["route"] == nil)
    }

    func run(_ method: String, _ path: String, query: String = "") throws -> Response {
        try router.handle(Request(method: method, path: path, query: query), context: TestContext())
    }

    @Test func routesStaticPathsAndRoot() throws {
        #expect(body(try run("GET", "/")) == "home")
        #expect(body(try run("GET", "/library")) == "library")
    }

    @Test func passesDecodedParametersAndContext() throws {
        #expect(body(try run("GET", "/reports/abc123")) == "report abc123 ctx")
        #expect(body(try run("GET", "/reports/caf%C3%A9%20x")) == "report café x ctx")
        #expect(body(try run("GET", "/reports/a%2Fb")) == "report a/b ctx")
    }

    @Test func literalBeatsParameterWhateverTheOrder() throws {
        #expect(body(try run("GET", "/reports/new")) == "new form")
    }

    @Test func suffixedParameterBeatsPlainParameter() throws {
        #expect(body(try run("GET", "/r/cold-chain-ab12.md")) == "markdown cold-chain-ab12")
        #expect(body(try run("GET", "/r/cold-chain-ab12")) == "html cold-chain-ab12")
        // A bare suffix is not a slug.
        #expect(body(try run("GET", "/r/.md")) == "html .md")
    }

    @Test func wildcardTakesTheRestButNotDotSegments() throws {
        #expect(body(try run("GET", "/static/css/site.css")) == "static css/site.css")
        #expect(throws: HTTPError.notFound()) { try run("GET", "/static/../secret") }
        #expect(throws: HTTPError.notFound()) { try run("GET", "/static/a/%2E%2E/b") }
        #expect(throws: HTTPError.notFound()) { try run("GET", "/static") }
    }

    @Test func slashBeforeCombiningMarkStillSeparates() throws {
        #expect(body(try run("GET", "/reports/\u{301}x")) == "report \u{301}x ctx")
        #expect(throws: HTTPError.notFound()) { try run("GET", "/static/a/\u{301}/..") }
    }

    @Test func unknownPathIs404() {
        #expect(throws: HTTPError.notFound()) { try run("GET", "/nope") }
        #expect(throws: HTTPError.notFound()) { try run("GET", "/reports/a/b") }
        #expect(throws: HTTPError.notFound()) { try run("GET", "//library") }
        #expect(throws: HTTPError.notFound()) { try run("GET", "library") }
        #expect(throws: HTTPError.notFound()) { try run("GET", "") }
    }

    @Test func wrongMethodIs405WithAllow() throws {
        let error = try #require(throws: HTTPError.self) { try run("PUT", "/reports/abc") }
        #expect(error.status == 405)
        #expect(error.headers["Allow"] == "DELETE, GET, HEAD")
        let post = try #require(throws: HTTPError.self) { try run("GET", "/reports") }
        #expect(post.headers["Allow"] == "POST")
        #expect(body(try run("post", "/reports")) == "created")
    }

    @Test func headFallsBackToGetWithoutBody() throws {
        let response = try run("HEAD", "/library")
        #expect(response.status == 200)
        #expect(body(response) == "")
        #expect(response.headers["Content-Length"] == "7")
        #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
    }

    @Test func trailingSlashRedirectsPermanentlyKeepingQuery() throws {
        let response = try run("GET", "/library/", query: "q=ai&page=2")
        #expect(response.status == 308)
        #expect(response.headers["Location"] == "/library?q=ai&page=2")
        #expect(throws: HTTPError.notFound()) { try run("GET", "/nothing/") }
        // Never a protocol-relative redirect off-site.
        #expect(throws: HTTPError.notFound()) { try run("GET", "//evil.example/") }
    }

    @Test func badPathEncodingIs400() {
        for path in ["/reports/%G1", "/reports/%4", "/reports/%", "/reports/%C3%28", "/reports/%00", "/reports/%FF"] {
            let error = #expect(throws: HTTPError.self) { try run("GET", path) }
            #expect(error?.status == 400, "\(path)")
            #expect(error?.code == "bad_encoding")
        }
    }

    @Test func badQueryEncodingIs400OnEveryRouteEvenWhenUnread() {
        for (path, query) in [("/", "q=%G1"), ("/reports/7", "x=%FF"), ("/nowhere", "q=abc%2")] {
            let error = #expect(throws: HTTPError.self) { try run("GET", path, query: query) }
            #expect(error?.status == 400, "\(path)?\(query)")
            #expect(error?.code == "bad_encoding")
        }
        #expect(throws: Never.self) { try run("GET", "/", query: "q=caf%C3%A9&page=2") }
    }

    @Test func routeReportsMatchKinds() {
        switch router.route(Request(method: "GET", path: "/reports/x")) {
        case .found(_, let parameters, let dropBody):
            #expect(parameters == ["id": "x"])
            #expect(!dropBody)
        default:
            Issue.record("expected found")
        }
        guard case .notFound = router.route(Request(method: "GET", path: "/zzz")) else {
            Issue.record("expected notFound")
            return
        }
        guard case .methodNotAllowed(let allowed) = router.route(Request(method: "PATCH", path: "/")) else {
            Issue.record("expected methodNotAllowed")
            return
        }
        #expect(allowed == ["GET", "HEAD"])
    }

    @Test func handlerErrorsPropagate() {
        var router = Router<TestContext>()
        router.get("/boom") { _, _ in throw HTTPError.tooManyRequests(retryAfter: 30) }
        let error = #expect(throws: HTTPError.self) {
            try router.handle(Request(method: "GET", path: "/boom"), context: TestContext())
        }
        #expect(error?.status == 429)
        #expect(error?.headers["Retry-After"] == "30")
    }
}
