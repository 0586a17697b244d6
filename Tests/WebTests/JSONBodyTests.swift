import Testing
import Web

private struct CreateReport: Decodable, Equatable {
    var industry: String
    var region: String?
    var depth: Int
    var tags: [String]?
}

private func jsonRequest(_ body: String, contentType: String = "application/json") -> Request {
    Request(method: "POST", path: "/api/v1/reports", headers: ["Content-Type": contentType], body: Array(body.utf8))
}

@Suite("JSON bodies")
struct JSONBodyTests {
    @Test func decodesValidBody() throws {
        let value = try jsonRequest(#"{"industry":"solar","depth":2,"extra":true}"#).decodeJSON(CreateReport.self)
        #expect(value == CreateReport(industry: "solar", region: nil, depth: 2, tags: nil))
    }

    @Test func wrongOrMissingContentTypeIs415() {
        for request in [
            jsonRequest(#"{"industry":"solar","depth":2}"#, contentType: "text/plain"),
            Request(method: "POST", path: "/api/v1/reports", body: Array(#"{"industry":"x","depth":1}"#.utf8)),
        ] {
            let error = #expect(throws: HTTPError.self) { try request.decodeJSON(CreateReport.self) }
            #expect(error?.status == 415)
        }
    }

    @Test(arguments: ["", "{", "not json", "{\"industry\":\"a\" \"depth\":1}", "[1,2", "\u{FEFF}\u{0}"])
    func malformedJSONIs400(_ body: String) {
        let error = #expect(throws: HTTPError.self) { try jsonRequest(body).decodeJSON(CreateReport.self) }
        #expect(error?.status == 400)
        #expect(error?.code == "invalid_json")
    }

    @Test func invalidUTF8Is400() {
        let request = Request(
            method: "POST", path: "/api/x", headers: ["Content-Type": "application/json"],
            body: [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])
        let error = #expect(throws: HTTPError.self) { try request.decodeJSON([String: Int].self) }
        #expect(error?.status == 400)
    }

    @Test func missingFieldIs422NamingIt() {
        let error = #expect(throws: HTTPError.self) {
            try jsonRequest(#"{"depth":2}"#).decodeJSON(CreateReport.self)
        }
        #expect(error?.status == 422)
        #expect(error?.fields == ["industry": "is required"])
    }

    @Test func wrongTypeIs422NamingThePath() {
        let error = #expect(throws: HTTPError.self) {
            try jsonRequest(#"{"industry":"a","depth":"two"}"#).decodeJSON(CreateReport.self)
        }
        #expect(error?.fields == ["depth": "must be an integer"])
        let nested = #expect(throws: HTTPError.self) {
            try jsonRequest(#"{"industry":"a","depth":1,"tags":["x",3]}"#).decodeJSON(CreateReport.self)
        }
        #expect(nested?.fields == ["tags[1]": "must be a string"])
        let null = #expect(throws: HTTPError.self) {
            try jsonRequest(#"{"industry":null,"depth":1}"#).decodeJSON(CreateReport.self)
        }
        #expect(null?.status == 422)
        #expect(null?.fields.keys.first == "industry")
    }

    @Test func oversizedBodyIs413() {
        let error = #expect(throws: HTTPError.self) {
            try jsonRequest(#"{"industry":"solar","depth":2}"#).decodeJSON(CreateReport.self, maxBytes: 10)
        }
        #expect(error?.status == 413)
    }

    @Test func deeplyNestedJSONDoesNotCrash() {
        let body = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: HTTPError.self) { try jsonRequest(body).decodeJSON(CreateReport.self) }
    }
}
