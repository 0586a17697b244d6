public import Logging

/// Renders an `HTTPError` as an HTML page; supplied by the app so `Web` stays template-agnostic.
public protocol ErrorPageRenderer: Sendable {
    /// The complete HTML page for `error`. If this throws, the plain fallback page is used.
    func renderErrorPage(for error: HTTPError, request: Request) throws -> String
}

/// Turns any error thrown while handling a request into a response: an `HTTPError` as itself (JSON body or
/// HTML page, following `Request.wantsJSON`), anything else as a generic 500 that reveals nothing, logged once
/// with the request id.
public struct ErrorResponder: Sendable {
    /// Renders HTML error pages; nil means the plain built-in page.
    public var pageRenderer: (any ErrorPageRenderer)?
    /// Where unexpected errors are logged.
    public var logger: Logger

    /// Creates a responder.
    public init(pageRenderer: (any ErrorPageRenderer)? = nil, logger: Logger) {
        self.pageRenderer = pageRenderer
        self.logger = logger
    }

    /// The response for `error` raised while handling `request`.
    public func response(for error: any Error, request: Request) -> Response {
        let httpError: HTTPError
        if let known = error as? HTTPError {
            httpError = known
            if known.status >= 500 {
                logger.warning(
                    "request failed", metadata: ["request_id": "\(request.requestID)", "error": "\(known)"])
            }
        } else {
            httpError = .internalServerError()
            // Error descriptions in this codebase are safe to log (wrappers keep details in debugDescription).
            logger.error(
                "unhandled error",
                metadata: [
                    "request_id": "\(request.requestID)", "error_type": "\(type(of: error))", "error": "\(error)",
                ])
        }
        var response = request.wantsJSON ? httpError.jsonResponse() : htmlResponse(for: httpError, request: request)
        if request.method.uppercased() == "HEAD" { response = response.withoutBody() }
        return response
    }

    private func htmlResponse(for error: HTTPError, request: Request) -> Response {
        var page: String
        if let pageRenderer, let rendered = try? pageRenderer.renderErrorPage(for: error, request: request) {
            page = rendered
        } else {
            page = Self.plainPage(for: error)
        }
        var response = Response.html(page, status: error.status)
        response.headers["Cache-Control"] = CacheControl.noStore.headerValue
        for (name, value) in error.headers.sorted(by: { $0.key < $1.key }) { response.headers[name] = value }
        return response
    }

    /// A minimal, self-contained error page with every string escaped (no scripts, no external resources).
    public static func plainPage(for error: HTTPError) -> String {
        let title = HTMLEscaping.escapeHTML(Self.reason(for: error.status))
        let message = HTMLEscaping.escapeHTML(error.message)
        let fields = error.fields.sorted { $0.key < $1.key }
            .map { "<li><strong>\(HTMLEscaping.escapeHTML($0.key))</strong> \(HTMLEscaping.escapeHTML($0.value))</li>" }
            .joined()
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(error.status) \(title)</title>
            <meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body><h1>\(title)</h1><p>\(message)</p>\(fields.isEmpty ? "" : "<ul>\(fields)</ul>")
            <p><a href="/">Back to Marketlens</a></p></body></html>

            """
    }

    static func reason(for status: Int) -> String {
        switch status {
        case 400: "Bad request"
        case 403: "Forbidden"
        case 404: "Not found"
        case 405: "Method not allowed"
        case 413: "Request too large"
        case 415: "Unsupported media type"
        case 422: "Invalid input"
        case 429: "Too many requests"
        case 503: "Service unavailable"
        case 500..<600: "Server error"
        default: "Error"
        }
    }
}

extension HTTPError {
    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var fields: [String: String]
        }
        var error: Detail
    }

    /// `{"error":{"code":"…","fields":{…},"message":"…"}}` (keys sorted; `fields` always present).
    public var jsonBody: [UInt8] {
        let body = Body(error: .init(code: code, message: message, fields: fields))
        // Encoding strings and a string dictionary cannot fail; the literal is a last resort, not a path.
        return (try? JSONBody.encode(body, sortedKeys: true))
            ?? Array(#"{"error":{"code":"internal_error","fields":{},"message":"Internal error."}}"#.utf8)
    }

    /// This error as a JSON response with its status and headers, never cached.
    public func jsonResponse() -> Response {
        var response = Response(status: status, headers: ["Content-Type": "application/json"], body: .bytes(jsonBody))
        response.headers["Cache-Control"] = CacheControl.noStore.headerValue
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { response.headers[name] = value }
        return response
    }
}
