import Foundation
import Testing
import ParallelAPI
import Web
@testable import MarketLens

@Suite struct BatchRequestTests {
    static let seed = """
        {"research_goal": "Find fintech companies using AI for fraud detection",
         "company_domains": ["stripe.com", "paypal.com"], "search_depth": "standard",
         "max_parallel_searches": 20, "confidence_threshold": 0.7}
        """

    func body(_ changes: [String: JSONValue?]) -> [UInt8] {
        guard case .object(var object) = (try? JSONValue.parse(Self.seed)) ?? .null else { return [] }
        for (key, value) in changes {
            if let value { object[key] = value } else { object.removeValue(forKey: key) }
        }
        return Array((try? JSONEncoder().encode(JSONValue.object(object))) ?? Data())
    }

    func fields(_ bytes: [UInt8]) -> [String: String] {
        do {
            _ = try BatchRequest.parse(json: bytes)
            return [:]
        } catch {
            #expect(error.status == 422)
            return error.fields
        }
    }

    @Test func acceptsTheSeedExample() throws {
        let request = try BatchRequest.parse(json: Array(Self.seed.utf8))
        #expect(request == BatchRequest(
            researchGoal: "Find fintech companies using AI for fraud detection", companyDomains: ["stripe.com", "paypal.com"],
            searchDepth: .standard, maxParallelSearches: 20, confidenceThreshold: 0.7))
        #expect(request.searchDepth.processor == "core")
    }

    @Test func visibilityIsOptionalAndUnlistedByDefault() throws {
        #expect(try BatchRequest.parse(json: Array(Self.seed.utf8)).visibility == .unlisted)
        #expect(try BatchRequest.parse(json: body(["visibility": .null])).visibility == .unlisted)
        #expect(try BatchRequest.parse(json: body(["visibility": "public"])).visibility == .listed)
        #expect(try BatchRequest.parse(json: body(["visibility": "unlisted"])).visibility == .unlisted)
        for bad: JSONValue in ["secret", "Public", 1, true, .object([:])] {
            #expect(fields(body(["visibility": bad])).keys.contains("visibility"), "\(bad)")
        }
    }

    @Test func namesEveryMissingField() {
        #expect(Set(fields(Array("{}".utf8)).keys) == [
            "research_goal", "company_domains", "search_depth", "max_parallel_searches", "confidence_threshold",
        ])
    }

    @Test(arguments: [
        ("research_goal", 42), ("research_goal", ""), ("research_goal", "   "),
        ("research_goal", .string(String(repeating: "a", count: 2_001))),
        ("research_goal", .string(String(repeating: "x", count: 500_000))),
        ("research_goal", "bad\u{0}goal"), ("company_domains", "stripe.com"), ("company_domains", []),
        ("company_domains", [.object([:])]), ("company_domains", .array((0...200).map { .string("company\($0).com") })),
        ("search_depth", "deep"), ("search_depth", .object([:])), ("search_depth", 1),
        ("max_parallel_searches", 4), ("max_parallel_searches", 51), ("max_parallel_searches", "20"),
        ("max_parallel_searches", 7.5), ("max_parallel_searches", true),
        ("confidence_threshold", 1.5), ("confidence_threshold", -0.1), ("confidence_threshold", "0.7"),
        ("confidence_threshold", false),
    ] as [(String, JSONValue)])
    func rejectsABadField(name: String, value: JSONValue) {
        let problems = fields(body([name: value]))
        #expect(problems.keys.contains(name), "\(name) = \(String(describing: value).prefix(40))")
        #expect(problems.keys.allSatisfy { $0.hasPrefix(name) })
    }

    @Test func namesEachBadDomainByIndex() {
        let problems = fields(body(["company_domains": ["stripe.com", "javascript:alert(1)", 7, "ok.io"]]))
        #expect(problems["company_domains[1]"] != nil)
        #expect(problems["company_domains[2]"] != nil)
        #expect(problems["company_domains[0]"] == nil && problems["company_domains[3]"] == nil)
        #expect(problems["company_domains"] != nil)
    }

    @Test func reportsSeveralBadFieldsTogether() {
        let problems = fields(body(["research_goal": "", "search_depth": "x", "max_parallel_searches": 0]))
        #expect(Set(problems.keys) == ["research_goal", "search_depth", "max_parallel_searches"])
    }

    @Test(arguments: ["{", "[]", "\"text\"", "null", "", "{\"research_goal\": }"])
    func rejectsBodiesThatAreNotAJSONObject(_ text: String) {
        #expect(fields(Array(text.utf8)).keys.contains("body"))
    }

    @Test func acceptsIntegralNumbersAndBoundaries() throws {
        let request = try BatchRequest.parse(json: body(["max_parallel_searches": 5.0, "confidence_threshold": 1]))
        #expect(request.maxParallelSearches == 5 && request.confidenceThreshold == 1)
        #expect(try BatchRequest.parse(json: body(["max_parallel_searches": 50, "confidence_threshold": 0]))
            .maxParallelSearches == 50)
    }

    @Test func normalisesAndDeduplicatesDomains() throws {
        let request = try BatchRequest.parse(json: body([
            "company_domains": ["HTTPS://Stripe.COM/pricing?x=1#top", "stripe.com", " paypal.com. ", "http://www.adyen.com"],
        ]))
        #expect(request.companyDomains == ["stripe.com", "paypal.com", "www.adyen.com"])
    }

    @Test(arguments: [
        ("stripe.com", "stripe.com"), ("Sub.Example.CO.uk", "sub.example.co.uk"), ("https://a-b.io/x/y", "a-b.io"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"), ("example.xn--p1ai", "example.xn--p1ai"),
    ])
    func normalises(_ input: String, _ expected: String) {
        #expect(DomainName.normalise(input) == expected)
    }

    @Test(arguments: [
        "javascript:alert(1)", "ftp://stripe.com", "localhost", "127.0.0.1", "user@stripe.com", "stripe.com:443",
        "-bad.com", "bad-.com", "a..com", "exa mple.com", "bücher.de", "<script>.com", "stripe.c0m", "",
        String(repeating: "a", count: 64) + ".com", Array(repeating: "abcdefghi", count: 30).joined(separator: ".") + ".com",
        "data:text/html,hi", "//stripe.com",
    ])
    func rejectsNonDomains(_ input: String) {
        #expect(DomainName.normalise(input) == nil)
    }
}
