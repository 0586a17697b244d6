import Foundation
import Web

/// `GET /api/v1/openapi.json` (the OpenAPI document, as the file holds it) and `GET /api` (the same document
/// as a page for people, with a curl command per route). Both are the same for everyone: public and cacheable.
enum APIReferenceController {
    /// Browsers and nginx's page cache may keep it; it changes only with a deploy (and the ETag says when).
    static let maxAge = 300

    @Sendable static func document(_ request: Request, _ context: RequestContext) throws -> Response {
        let document = context.app.apiDocument
        if request.headers["If-None-Match"]?.contains(document.etag) == true {
            return Response(status: 304, headers: ["ETag": document.etag]).cacheControl(.publicMaxAge(maxAge))
        }
        return Response(status: 200, headers: ["Content-Type": "application/json", "ETag": document.etag],
                        body: .bytes(document.bytes)).cacheControl(.publicMaxAge(maxAge))
    }

    @Sendable static func page(_ request: Request, _ context: RequestContext) throws -> Response {
        try context.renderPage("api", pageContext(context.app.apiDocument, baseURL: context.app.configuration.baseURL))
            .cacheControl(.publicMaxAge(maxAge))
    }

    /// A description as HTML: escaped first, then each `` `code` `` span becomes `<code>` (nothing else of
    /// Markdown is used by the document), so the result is safe for the template's raw `{{{…}}}`.
    static func html(_ text: String) -> String {
        let parts = HTMLEscaping.escapeHTML(text).split(separator: "`", omittingEmptySubsequences: false)
        guard parts.count % 2 == 1 else { return HTMLEscaping.escapeHTML(text) }
        return parts.enumerated().map { $0.offset % 2 == 1 ? "<code>\($0.element)</code>" : String($0.element) }.joined()
    }

    /// The view model of `templates/api.mustache`; plain strings are escaped by the template, `…HTML` ones here.
    static func pageContext(_ document: APIDocument, baseURL: String) -> [String: Any] {
        let sections: [[String: Any]] = document.sections.map { section in
            [
                "name": section.name, "descriptionHTML": html(section.description),
                "operations": section.operations.map { operation(context: $0, baseURL: baseURL) },
            ]
        }
        return [
            "title": "API reference",
            "description": "The Marketlens JSON API: every route, its answers and a curl command for each.",
            "nav": ["api": true],
            "apiTitle": document.title,
            "summaryHTML": html(document.summary),
            "operationCount": document.operations.count,
            "index": document.sections.flatMap(\.operations).map {
                ["method": $0.method, "path": $0.path, "anchor": $0.anchor, "summary": $0.summary]
            },
            "sections": sections,
        ]
    }

    static func operation(context operation: APIReferenceOperation, baseURL: String) -> [String: Any] {
        [
            "method": operation.method, "methodClass": operation.method.lowercased(), "path": operation.path,
            "anchor": operation.anchor, "summary": operation.summary, "descriptionHTML": html(operation.description),
            "authentication": operation.authentication, "hasAuthentication": !operation.authentication.isEmpty,
            "hasParameters": !operation.parameters.isEmpty,
            "parameters": operation.parameters.map {
                ["name": $0.name, "location": $0.location, "descriptionHTML": html($0.description), "required": $0.required]
            },
            "requestExample": operation.requestExample ?? "", "hasRequestExample": operation.requestExample != nil,
            "answers": operation.answers.map {
                ["status": $0.status, "descriptionHTML": html($0.description), "contentType": $0.contentType,
                 "codes": $0.codes.joined(separator: ", "), "hasCodes": !$0.codes.isEmpty]
            },
            "hasEvents": !operation.events.isEmpty,
            "events": operation.events.map { ["name": $0.name, "descriptionHTML": html($0.description)] },
            "curl": operation.curl.replacingOccurrences(of: "$MARKETLENS", with: baseURL),
        ]
    }
}
