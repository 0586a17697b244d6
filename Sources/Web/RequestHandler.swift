/// Handles requests on one request thread. Not `Sendable` on purpose: it may own that thread's database
/// connection and HTTP client, which must never cross threads.
public protocol RequestHandler: AnyObject {
    /// Answers one request. Must not throw: errors become error responses inside.
    func handle(_ request: Request) -> Response
}

/// Creates one `RequestHandler` per request thread, inside that thread.
public protocol RequestHandlerFactory: Sendable {
    /// Called once on each request thread before it accepts its first request.
    func makeHandler() throws -> any RequestHandler
}
