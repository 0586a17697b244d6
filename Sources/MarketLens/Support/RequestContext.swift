public import Logging
public import Web

/// What a handler can use on its request thread: the shared, immutable app and this thread's own resources.
public final class RequestContext {
    /// The app's shared parts (configuration, templates, metrics).
    public let app: MarketLensApp
    /// This thread's database connection.
    public let database: DatabaseSession
    /// The logger, tagged with the worker.
    public var logger: Logger { app.logger }

    init(app: MarketLensApp) {
        self.app = app
        database = DatabaseSession(url: app.configuration.databaseURL)
    }

    /// Renders a full page with the site layout; `page` values override the defaults.
    public func renderPage(_ template: String, _ page: [String: Any], status: Int = 200) throws -> Response {
        let html = try app.renderer.render(template, page)
        return Response.html(html, status: status)
    }
}
