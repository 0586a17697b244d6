import Testing
import Web

private func text(_ response: Response) -> String {
    guard case .bytes(let bytes) = response.body else { return "<stream>" }
    return String(decoding: bytes, as: UTF8.self)
}

@Suite("SSE encoding")
struct SSEEncodingTests {
    @Test func framesAnEvent() {
        #expect(
            OutgoingEvent(id: "7", event: "status", data: #"{"state":"running"}"#).encoded
                == "id: 7\nevent: status\ndata: {\"state\":\"running\"}\n\n")
        #expect(OutgoingEvent(data: "").encoded == "data: \n\n")
        #expect(OutgoingEvent(id: "0", event: "connected", data: "{}", retry: 1000).encoded
            == "retry: 1000\nid: 0\nevent: connected\ndata: {}\n\n")
    }

    @Test func splitsMultiLineData() {
        #expect(OutgoingEvent(data: "a\nb\r\nc\rd").encoded == "data: a\ndata: b\ndata: c\ndata: d\n\n")
        #expect(OutgoingEvent(data: "end\n").encoded == "data: end\ndata: \n\n")
    }

    @Test func stripsLineBreaksFromFieldValues() {
        let event = OutgoingEvent(id: "1\n\0data: x", event: "status\r\nid: 99", data: "ok")
        #expect(event.encoded == "id: 1data: x\nevent: statusid: 99\ndata: ok\n\n")
    }

    @Test func jsonEventIsOneLine() throws {
        struct Message: Encodable { var text: String; var url: String }
        let event = try OutgoingEvent.json(id: "3", event: "message", Message(text: "line1\nline2", url: "https://a/b"))
        #expect(event.encoded == "id: 3\nevent: message\ndata: {\"text\":\"line1\\nline2\",\"url\":\"https://a/b\"}\n\n"
            || event.encoded == "id: 3\nevent: message\ndata: {\"url\":\"https://a/b\",\"text\":\"line1\\nline2\"}\n\n")
        #expect(event.encoded.filter { $0 == "\n" }.count == 4)
    }

    @Test func commentsAndRetry() {
        #expect(OutgoingEvent.heartbeat == ": heartbeat\n\n")
        #expect(OutgoingEvent.comment("a\nb") == ": a\n: b\n\n")
        #expect(OutgoingEvent.retry(milliseconds: 2000) == "retry: 2000\n\n")
    }
}

@Suite("Responses and escaping")
struct ResponseTests {
    @Test func bodiesAndContentTypes() throws {
        let html = Response.html("<p>x</p>", status: 201)
        #expect(html.status == 201)
        #expect(html.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(Response.text("hi").headers["Content-Type"] == "text/plain; charset=utf-8")
        let json = try Response.json(["url": "https://x.test/a"], status: 202)
        #expect(json.status == 202)
        #expect(json.headers["Content-Type"] == "application/json")
        #expect(text(json) == #"{"url":"https://x.test/a"}"#)
        #expect(text(try Response.json(["b": 1, "a": 2], sortedKeys: true)) == #"{"a":2,"b":1}"#)
        #expect(Response.noContent.status == 204)
        #expect(Response.text("x").cacheControl(.noStore).headers["Cache-Control"] == "no-store")
        #expect(CacheControl.publicMaxAge(60).headerValue == "public, max-age=60")
        let withCookies = Response.text("x").settingCookie(SetCookie(name: "a", value: "1"))
            .settingCookie(SetCookie(name: "b", value: "2"))
        #expect(withCookies.headers.values("Set-Cookie").count == 2)
    }

    @Test func redirectsToLocalPaths() throws {
        let response = try Response.redirect(to: "/reports/abc?x=1")
        #expect(response.status == 303)
        #expect(response.headers["Location"] == "/reports/abc?x=1")
        #expect(try Response.redirect(to: "/library", status: .permanent).status == 308)
        #expect(try Response.redirect(to: "https://ml.example/r/x", allowedOrigin: "https://ml.example").status == 303)
    }

    @Test(arguments: [
        "https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
        "http:evil.example", "", " /x", "/x\r\nSet-Cookie: a=1", "https://ml.example.evil.example/",
        "https://ml.exampleevil/", "relative/path", "/a b", "//\u{301}evil.example", "/\u{FF0F}evil.example",
    ])
    func redirectRefusesOffSiteTargets(_ target: String) {
        let error = #expect(throws: HTTPError.self) {
            try Response.redirect(to: target, allowedOrigin: "https://ml.example")
        }
        #expect(error?.status == 400)
    }

    @Test func escapeHTML() {
        #expect(HTMLEscaping.escapeHTML(#"<a href="x" onclick='y'>&amp;</a>"#)
            == "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;")
        #expect(HTMLEscaping.escapeHTML("café 📈") == "café 📈")
    }

    @Test func safeURL() {
        #expect(HTMLEscaping.safeURL("https://example.com/a?b=1#c") == "https://example.com/a?b=1#c")
        #expect(HTMLEscaping.safeURL("  HTTP://Example.com ") == "HTTP://Example.com")
        #expect(HTMLEscaping.safeURL("https://user@host:8443/x") == "https://user@host:8443/x")
        for bad in [
            "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,<b>",
            "vbscript:x", "file:///etc/passwd", "https://", "https:///path", "http//x", "/relative", "ftp://x.y",
            "https://exa mple.com", "https://a.b/\u{0}", "https://a.b\\@evil", "java\tscript:alert(1)",
            "https://:80/",
        ] {
            #expect(HTMLEscaping.safeURL(bad) == nil, "\(bad)")
        }
    }
}

/// Collects what a streaming body writes.
final class RecordingWriter: BodyWriter {
    var written: [UInt8] = []

    func write(_ bytes: [UInt8]) throws { written += bytes }

    func flush() throws {}
}

@Suite("Event stream responses")
struct EventStreamTests {
    @Test func eventStreamHeadersAndBody() throws {
        let response = Response.eventStream { writer in
            try writer.write(OutgoingEvent.retry(milliseconds: 2000))
            try writer.write(OutgoingEvent(id: "1", event: "connected", data: "{}").encoded)
            try writer.flush()
        }
        #expect(response.headers["Content-Type"] == "text/event-stream; charset=utf-8")
        #expect(response.headers["Cache-Control"] == "no-cache")
        #expect(response.headers["X-Accel-Buffering"] == "no")
        guard case .stream(let produce) = response.body else {
            Issue.record("expected a stream")
            return
        }
        let writer = RecordingWriter()
        try produce(writer)
        #expect(String(decoding: writer.written, as: UTF8.self) == "retry: 2000\n\nid: 1\nevent: connected\ndata: {}\n\n")
    }

    @Test func headOfAStreamDoesNotRunIt() throws {
        var router = Router<Void>()
        router.get("/events") { _, _ in
            .eventStream { _ in Issue.record("the producer must not run for HEAD") }
        }
        let response = try router.handle(Request(method: "HEAD", path: "/events"), context: ())
        guard case .bytes(let bytes) = response.body else {
            Issue.record("HEAD must not stream")
            return
        }
        #expect(bytes.isEmpty)
        #expect(response.headers["Content-Type"] == "text/event-stream; charset=utf-8")
    }

    @Test func lastEventIDFromHeaderThenQuery() throws {
        #expect(try Request(method: "GET", path: "/e", query: "last_event_id=4", headers: ["Last-Event-ID": "9"])
            .lastEventID() == "9")
        #expect(try Request(method: "GET", path: "/e", query: "last_event_id=4").lastEventID() == "4")
        #expect(try Request(method: "GET", path: "/e", headers: ["Last-Event-ID": " "]).lastEventID() == nil)
        #expect(try Request(method: "GET", path: "/e").lastEventID() == nil)
        #expect(throws: HTTPError.self) { try Request(method: "GET", path: "/e", query: "last_event_id=%zz").lastEventID() }
    }
}
