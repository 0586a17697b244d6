import Foundation
public import Logging
public import Web

/// The Marketlens web application: its configuration, templates, routes and metrics, shared read-only by every
/// request thread of a worker process. Each thread gets its own `RequestThread` (and database connection).
public struct MarketLensApp: RequestHandlerFactory {
    public let configuration: AppConfiguration
    public let renderer: PageRenderer
    public let metrics: RequestMetrics
    public let logger: Logger
    /// The process's live fan-out: one listener for every open event stream (see `RelayHub`).
    public let relayHub: RelayHub
    let router: Router<RequestContext>
    let errors: ErrorResponder

    /// Loads templates and builds the routes; throws when templates are missing or invalid.
    public init(configuration: AppConfiguration, worker: String = "0", logger: Logger,
                live: LiveSettings? = nil) throws {
        self.configuration = configuration
        relayHub = RelayHub(
            databaseURL: configuration.databaseURL,
            settings: live ?? LiveSettings(environment: ProcessInfo.processInfo.environment, threads: configuration.threads),
            logger: logger)
        self.logger = logger
        renderer = try PageRenderer(directory: configuration.templatesDirectory)
        metrics = RequestMetrics(worker: worker)
        router = Routes.make()
        errors = ErrorResponder(pageRenderer: ErrorPages(renderer: renderer), logger: logger)
    }

    public func makeHandler() throws -> any RequestHandler { RequestThread(app: self) }

    /// The per-process background services, each run on a dedicated thread by the worker.
    public var backgroundServices: [any BackgroundService] { relayHub.services }
}

/// Answers requests on one thread: routing, error pages, metrics.
final class RequestThread: RequestHandler {
    private let app: MarketLensApp
    private let context: RequestContext

    init(app: MarketLensApp) {
        self.app = app
        context = RequestContext(app: app)
    }

    func handle(_ request: Request) -> Response {
        let started = ContinuousClock.now
        app.metrics.begin()
        var response = app.router.respond(to: request, context: context, errors: app.errors)
        if response.headers["Cache-Control"] == nil {
            response.headers["Cache-Control"] = "no-store"
        }
        if !request.requestID.isEmpty { response.headers["X-Request-Id"] = request.requestID }
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        app.metrics.end(status: response.status, seconds: seconds)
        return response
    }
}
