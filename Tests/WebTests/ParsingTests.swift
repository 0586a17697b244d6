import Testing
import Web

@Suite("Strict parsing")
struct ParsingTests {
    @Test func percentDecoding() throws {
        #expect(try PercentDecoding.decode("a%20b+c", plusAsSpace: true) == "a b c")
        #expect(try PercentDecoding.decode("a%20b+c", plusAsSpace: false) == "a b+c")
        #expect(try PercentDecoding.decode("caf%c3%a9", plusAsSpace: false) == "café")
        #expect(try PercentDecoding.decode("%F0%9F%93%88", plusAsSpace: false) == "📈")
        #expect(try PercentDecoding.decode("", plusAsSpace: true) == "")
    }

    @Test(arguments: ["%G1", "%4", "%", "a%", "%%", "%C3", "%C3%28", "%ED%A0%80", "%FF", "%C0%AF", "%00", "x%0"])
    func badEscapesAre400(_ input: String) {
        let error = #expect(throws: HTTPError.self) { try PercentDecoding.decode(input, plusAsSpace: true) }
        #expect(error?.status == 400)
        #expect(error?.code == "bad_encoding")
    }

    @Test func formKeepsRepeatedKeysAndOrder() throws {
        let form = try URLEncodedForm(parsing: "tag=a&industry=cold+chain&tag=b&&empty=&flag&tag=c%26d")
        #expect(form["industry"] == "cold chain")
        #expect(form.values("tag") == ["a", "b", "c&d"])
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
        #expect(form.contains("flag"))
        #expect(form["missing"] == nil)
        #expect(form.fields.map(\.name) == ["tag", "industry", "tag", "empty", "flag", "tag"])
        #expect(form["tag"] == "a")
    }

    @Test func separatorsFollowedByCombiningMarksStillSeparate() throws {
        let form = try URLEncodedForm(parsing: "a=1&\u{301}b=2&c=\u{301}3")
        #expect(form.fields.map(\.name) == ["a", "\u{301}b", "c"])
        #expect(form["c"] == "\u{301}3")
    }

    @Test func formValueMayContainEquals() throws {
        #expect(try URLEncodedForm(parsing: "token=abc==")["token"] == "abc==")
    }

    @Test func formLimits() {
        let limits = URLEncodedForm.Limits(maxBytes: 100, maxFields: 3, maxFieldBytes: 10)
        #expect(throws: HTTPError.payloadTooLarge()) { try URLEncodedForm(parsing: String(repeating: "a", count: 101), limits: limits) }
        #expect((try? URLEncodedForm(parsing: "a=1&b=2&c=3", limits: limits)) != nil)
        let many = #expect(throws: HTTPError.self) { try URLEncodedForm(parsing: "a=1&b=2&c=3&d=4", limits: limits) }
        #expect(many?.status == 413)
        let big = #expect(throws: HTTPError.self) { try URLEncodedForm(parsing: "a=12345678901", limits: limits) }
        #expect(big?.status == 413)
    }

    @Test func formBodyMustBeUTF8() {
        let error = #expect(throws: HTTPError.self) { try URLEncodedForm(parsing: [0x61, 0x3D, 0xFF, 0xFE]) }
        #expect(error?.status == 400)
    }

    @Test func requestFormChecksContentType() throws {
        let body = Array("industry=solar&region=EU".utf8)
        let good = Request(
            method: "POST", path: "/reports",
            headers: ["Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"], body: body)
        #expect(try good.form()["region"] == "EU")
        let wrong = Request(method: "POST", path: "/reports", headers: ["Content-Type": "text/plain"], body: body)
        #expect(throws: HTTPError.unsupportedMediaType(expected: "application/x-www-form-urlencoded")) {
            try wrong.form()
        }
        let latin1 = Request(
            method: "POST", path: "/reports",
            headers: ["Content-Type": "application/x-www-form-urlencoded; charset=latin1"], body: body)
        #expect(throws: HTTPError.self) { try latin1.form() }
    }

    @Test func queryHelpers() throws {
        let request = Request(method: "GET", path: "/library", query: "q=cold+chain%20EU&page=2&page=3")
        #expect(try request.queryValue("q") == "cold chain EU")
        #expect(try request.queryItems.values("page") == ["2", "3"])
        #expect(try request.queryValue("nope") == nil)
        let bad = Request(method: "GET", path: "/library", query: "q=%E2%82")
        let error = #expect(throws: HTTPError.self) { try bad.queryValue("q") }
        #expect(error?.status == 400)
    }

    @Test func contentTypeParsing() throws {
        let json = try #require(ContentType(parsing: "Application/JSON; Charset=\"UTF-8\""))
        #expect(json.mediaType == "application/json")
        #expect(json.charset == "utf-8")
        #expect(json.isJSON)
        #expect(try #require(ContentType(parsing: "application/problem+json")).isJSON)
        #expect(try #require(ContentType(parsing: "text/plain; a=\"x;y\"; b=2")).parameters == ["a": "x;y", "b": "2"])
        #expect(!(try #require(ContentType(parsing: "text/json"))).isJSON)
        #expect(try #require(ContentType(parsing: "application/x-www-form-urlencoded")).isURLEncodedForm)
        for bad in ["", "json", "application/", "/json", "a/b/c", "app lication/json", "text/html\u{0}"] {
            #expect(ContentType(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func headerLookupIsCaseInsensitive() {
        let request = Request(method: "GET", path: "/", headers: ["X-Request-Id": "abc"])
        #expect(request.header("x-request-id") == "abc")
        #expect(request.header("missing") == nil)
    }
}
