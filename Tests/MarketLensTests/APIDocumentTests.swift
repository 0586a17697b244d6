import Foundation
import Testing
import Web
@testable import MarketLens

/// api/openapi.json against the router: every JSON route is described, and nothing is described that the router
/// does not have. The router's list comes from `Routes.make()` itself, so a route added without its description
/// (or a description left behind by a removed route) fails here.
@Suite struct APIDocumentTests {
    static var root: String {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        return root.path
    }

    static func document() throws -> APIDocument { try APIDocument(path: root + "/api/openapi.json") }

    /// `/r/:slug.md` → `/r/{slug}.md`, as OpenAPI writes path parameters.
    static func openAPIPath(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.hasPrefix(":") else { return String(segment) }
            let name = segment.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            return "{\(name)}" + segment.dropFirst(1 + name.count)
        }.joined(separator: "/")
    }

    @Test func everyAPIRouteIsDocumentedAndNothingElse() throws {
        let routed = Set(Routes.make().registeredRoutes.filter { Routes.isAPI($0.pattern) }
            .map { "\($0.method) \(Self.openAPIPath($0.pattern))" })
        let documented = Set(try Self.document().operations.map { "\($0.method) \($0.path)" })
        #expect(routed.count >= 16, "the API's routes: \(routed.sorted())")
        #expect(routed.subtracting(documented).sorted() == [], "routes missing from api/openapi.json")
        #expect(documented.subtracting(routed).sorted() == [], "documented routes the router does not have")
    }

    @Test func pagesAreNotUnderTheAPIPrefixes() {
        let api = Routes.make().registeredRoutes.map(\.pattern).filter(Routes.isAPI)
        #expect(api.contains("/api/v1/openapi.json"))
        #expect(!api.contains("/api"))
        #expect(!api.contains("/batch/:id"))
        #expect(!api.contains("/reports/:id/events"))
    }

    @Test func pathParametersBecomeOpenAPITemplates() {
        #expect(Self.openAPIPath("/api/v1/reports/:id/events") == "/api/v1/reports/{id}/events")
        #expect(Self.openAPIPath("/r/:slug.md") == "/r/{slug}.md")
    }

    @Test func thePageListsEveryOperationWithACurlCommand() throws {
        let document = try Self.document()
        let context = APIReferenceController.pageContext(document, baseURL: "https://example.test")
        let operations = (context["sections"] as? [[String: Any]] ?? []).flatMap { $0["operations"] as? [[String: Any]] ?? [] }
        #expect(operations.count == document.operations.count)
        for operation in operations {
            let curl = operation["curl"] as? String ?? ""
            #expect(curl.hasPrefix("curl "), "\(operation["path"] ?? "")")
            #expect(curl.contains("https://example.test\(operation["path"] as? String ?? "?")".prefix(30)))
        }
        let stream = operations.first { $0["path"] as? String == "/research/batch/stream" }
        let events = (stream?["events"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(Set(events) == Set(BatchEventType.allCases.map(\.rawValue)))
    }

    @Test func descriptionsAreEscapedAndOnlyCodeSpansBecomeHTML() {
        #expect(APIReferenceController.html("Send `Idempotency-Key` <b>now</b>")
            == "Send <code>Idempotency-Key</code> &lt;b&gt;now&lt;/b&gt;")
        #expect(APIReferenceController.html("an odd ` stays <i>") == "an odd ` stays &lt;i&gt;")
    }

    @Test func aMissingDocumentStopsStartUp() {
        #expect(throws: APIDocumentError.self) { try APIDocument(path: Self.root + "/api/no-such.json") }
    }
}
