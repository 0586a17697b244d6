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

    /// The view model of `templates/api.mustache`; every string is escaped by the template.
    static func pageContext(_ document: APIDocument, baseURL: String) -> [String: Any] {
        let sections: [[String: Any]] = document.sections.map { section in
            [
                "name": section.name, "description": section.description,
                "operations": section.operations.map { operation(context: $0, baseURL: baseURL) },
            ]
        }
        return [
            "title": "API reference",
            "description": "The Marketlens JSON API: every route, its answers and a curl command for each.",
            "nav": ["api": true],
            "apiTitle": document.title,
            "summary": document.summary,
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
            "anchor": operation.anchor, "summary": operation.summary, "description": operation.description,
            "authentication": operation.authentication, "hasAuthentication": !operation.authentication.isEmpty,
            "hasParameters": !operation.parameters.isEmpty,
            "parameters": operation.parameters.map {
                ["name": $0.name, "location": $0.location, "description": $0.description, "required": $0.required]
            },
            "requestExample": operation.requestExample ?? "", "hasRequestExample": operation.requestExample != nil,
            "answers": operation.answers.map {
                ["status": $0.status, "description": $0.description, "contentType": $0.contentType,
                 "codes": $0.codes.joined(separator: ", "), "hasCodes": !$0.codes.isEmpty]
            },
            "hasEvents": !operation.events.isEmpty,
            "events": operation.events.map { ["name": $0.name, "description": $0.description] },
            "curl": operation.curl.replacingOccurrences(of: "$MARKETLENS", with: baseURL),
        ]
    }
}
