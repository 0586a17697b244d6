import Web

/// Renders `HTTPError`s as styled pages with the site layout (404, 500, …).
struct ErrorPages: ErrorPageRenderer {
    let renderer: PageRenderer

    func renderErrorPage(for error: HTTPError, request: Request) throws -> String {
        var page: [String: Any] = [
            "title": Self.heading(for: error.status),
            "status": error.status,
            "heading": Self.heading(for: error.status),
            "message": error.message,
        ]
        // Only server errors show a reference to quote; the key is left out otherwise (an empty string would
        // still open the mustache section).
        if error.status >= 500, !request.requestID.isEmpty { page["requestID"] = request.requestID }
        return try renderer.render("error", page)
    }

    static func heading(for status: Int) -> String {
        switch status {
        case 400: "That request did not make sense"
        case 403: "Not allowed"
        case 404: "Page not found"
        case 405: "Not allowed here"
        case 409: "That cannot be done right now"
        case 410: "Gone: deleted by its owner"
        case 413: "That was too much to send"
        case 422: "Please check what you entered"
        case 429: "Slow down a little"
        case 503: "Temporarily unavailable"
        case 500...: "Something went wrong on our side"
        default: "Something went wrong"
        }
    }
}
