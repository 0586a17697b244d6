public import HTTPClient
public import Logging
public import ParallelAPI
public import Web

/// What a handler can use on its request thread: the shared, immutable app and this thread's own resources.
public final class RequestContext {
    /// The app's shared parts (configuration, templates, metrics).
    public let app: MarketLensApp
    /// This thread's way to the database: a connection of the process's shared pool for each use.
    public let database: DatabaseSession
    /// The logger, tagged with the worker.
    public var logger: Logger { app.logger }

    /// The API key of the request being served (set by `APIKeyGate`, cleared before the next request): its
    /// holder is the rate subject, and its name goes into the request's log line.
    public internal(set) var apiKey: APIKey?

    private var parallelClient: ParallelClient?
    private var consoleHTTPClient: HTTPClient?

    init(app: MarketLensApp) {
        self.app = app
        database = DatabaseSession(pool: app.requestPool)
    }

    /// This thread's Parallel client (created on first use, on this thread, and kept: it owns a libcurl handle
    /// and its connection cache). Configured by `AppConfiguration.parallelRequestConfiguration`.
    public func parallel() throws -> ParallelClient {
        if let parallelClient { return parallelClient }
        let client = try ParallelClient(configuration: app.configuration.parallelRequestConfiguration,
                                        logger: app.logger)
        parallelClient = client
        return client
    }

    /// This thread's HTTP client for the task console's calls to Parallel, relayed and OAuth (created on first
    /// use and kept, so calls reuse their connection instead of a new TLS handshake each; every request sets its
    /// own headers).
    public func consoleClient() throws -> HTTPClient {
        if let consoleHTTPClient { return consoleHTTPClient }
        let client = try HTTPClient()
        consoleHTTPClient = client
        return client
    }

    /// Whose hourly limits `request` counts against: its API key's, or else its client address's. An empty
    /// address shares a single bucket rather than escaping the limit.
    public func rateSubject(_ request: Request) -> RateSubject {
        if let apiKey { return .key(apiKey) }
        return .address(request.remoteAddress.isEmpty ? "unknown" : request.remoteAddress)
    }

    /// Renders a full page with the site layout; `page` values override the defaults.
    public func renderPage(_ template: String, _ page: [String: Any], status: Int = 200) throws -> Response {
        let html = try app.renderer.render(template, page)
        return Response.html(html, status: status)
    }
}
