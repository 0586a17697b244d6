public import Engine
import Foundation
public import Logging
public import Web

/// The Marketlens web application: its configuration, templates, routes and metrics, shared read-only by every
/// request thread of a worker process. Each thread gets its own `RequestThread`; they share `requestPool`.
public struct MarketLensApp: RequestHandlerFactory {
    public let configuration: AppConfiguration
    public let renderer: PageRenderer
    public let metrics: RequestMetrics
    public let logger: Logger
    /// Timing of batch screening (heartbeats, leases), read from the environment.
    public let batchSettings: BatchSettings
    /// Rendered report bodies of this process (the reader's `/r/{slug}`).
    public let reportRenderCache = ReportRenderCache()
    /// Short-lived library counts and region lists of this process (the reader's `/library`).
    public let libraryCache = LibraryCache()
    /// The home page's lists of reports in progress and newest reports, kept until the end of the second.
    let homeLists = RefreshingCache<ReportLists>()
    /// The process's live fan-out: one listener for every open event stream (see `RelayHub`).
    public let relayHub: RelayHub
    /// The process's console event relays: one thread and one libcurl multi handle for all of them.
    public let consoleStreams: ConsoleStreams
    /// The process's waits of the synchronous `POST /research/batch`: one thread for all of them.
    public let batchWaits: BatchWaits
    /// The OpenAPI document (`api/openapi.json`), served and rendered at `/api`.
    public let apiDocument: APIDocument
    /// The database connections every request thread of this process shares (`ConnectionBudget.requestPool`).
    public let requestPool: ConnectionPool
    let router: Router<RequestContext>
    let errors: ErrorResponder

    /// Loads templates and builds the routes; throws when templates are missing or invalid.
    public init(configuration: AppConfiguration, worker: String = "0", logger: Logger,
                live: LiveSettings? = nil, batch: BatchSettings? = nil) throws {
        self.configuration = configuration
        relayHub = RelayHub(
            databaseURL: configuration.databaseURL,
            settings: live ?? LiveSettings(environment: ProcessInfo.processInfo.environment),
            logs: AppEventLogs(), logger: logger)
        self.logger = logger
        requestPool = ConnectionPool(url: configuration.databaseURL, size: configuration.connections.requestPool)
        consoleStreams = ConsoleStreams(hub: relayHub, logger: logger)
        batchWaits = BatchWaits(hub: relayHub, logger: logger)
        renderer = try PageRenderer(directory: configuration.templatesDirectory)
        apiDocument = try APIDocument(path: configuration.apiDocumentPath)
        metrics = RequestMetrics(worker: worker)
        batchSettings = batch ?? BatchSettings(environment: ProcessInfo.processInfo.environment)
        router = Routes.make()
        errors = ErrorResponder(pageRenderer: ErrorPages(renderer: renderer), logger: logger)
    }

    public func makeHandler() throws -> any RequestHandler { RequestThread(app: self) }

    /// The per-process background services, each run on a dedicated thread by the worker: the relay hub's
    /// listener, writer and replay threads (live streams), the console's relay thread, the synchronous batch requests' wait thread, the report monitor (follows runs, finishes reports, sends
    /// queued e-mail) and the batch monitor (owns running batches), both following their work on one shared monitoring
    /// thread. Read once per worker process.
    public var backgroundServices: [any BackgroundService] {
        let services = relayHub.services + consoleStreams.services + batchWaits.services
        // The monitors share the process's database lanes and its one monitoring thread: their connections and
        // threads are fixed, whatever they follow.
        let lanes = DatabaseLanes(url: configuration.databaseURL, count: configuration.monitor.databaseConnections,
                                  logger: logger)
        let loop: FollowLoopThread
        do {
            loop = try FollowLoopThread(lanes: lanes, logger: logger)
        } catch {
            logger.critical("The monitoring loop could not start; no run or batch is followed by this worker",
                            metadata: ["error": "\(error)"])
            return services
        }
        return services
            + [ReportMonitor(configuration: configuration, completion: reportCompletion, logger: logger, lanes: lanes,
                             loop: loop),
               BatchMonitor(configuration: configuration, settings: batchSettings, logger: logger, lanes: lanes,
                            loop: loop)]
    }

    /// Finishes reports exactly once (used by the monitor, the webhook and the CLI).
    public var reportCompletion: ReportCompletion {
        ReportCompletion(baseURL: configuration.baseURL, renderer: renderer)
    }
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
        let startedAt = Date()
        app.metrics.begin()
        context.apiKey = nil
        var response = app.router.respond(to: request, context: context, errors: app.errors)
        // The key's name (never the key) tells whose request it was; cleared so the next request starts anonymous.
        if let key = context.apiKey { response.logFields["api_key"] = key.name }
        context.apiKey = nil
        if response.headers["Cache-Control"] == nil {
            response.headers["Cache-Control"] = "no-store"
        }
        response.headers["X-Accel-Expires"] = SharedCacheExpiry.header(
            for: response, request: request, started: startedAt)
        if !request.requestID.isEmpty { response.headers["X-Request-Id"] = request.requestID }
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        app.metrics.end(status: response.status, seconds: seconds)
        return response
    }
}
