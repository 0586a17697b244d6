#if canImport(Glibc)
internal import Glibc
#endif
import FastCGI
public import Logging
public import Web
internal import Synchronization

/// One FastCGI worker process's server: a listening unix socket, `threads` request threads each owning a
/// request slot and a handler, optional background threads, and an orderly shutdown.
///
/// The instance is the handle: `run()` blocks on one thread while `stop()` may be called from any other.
public final class Worker: Sendable {
    /// What this worker was configured with.
    public let configuration: WorkerConfiguration
    /// Requested on `stop()` (or SIGTERM/SIGINT); background tasks watch it.
    public let shutdown = ShutdownSignal()
    private let factory: any RequestHandlerFactory
    private let logger: Logger
    private let listening = Latch()
    private let state = Mutex(State())

    private struct State {
        var started = false
        var listener: Listener?
    }

    /// A worker that will serve `factory`'s handlers once `run()` is called.
    public init(configuration: WorkerConfiguration, factory: any RequestHandlerFactory, logger: Logger) {
        self.configuration = configuration
        self.factory = factory
        self.logger = logger
    }

    /// Opens the socket and serves until SIGTERM/SIGINT (when `handlesSignals`) or `stop()`; then stops accepting,
    /// lets in-flight requests finish within the grace period, removes the socket file and returns.
    /// Throws when the socket cannot be opened. A worker runs once.
    public static func run(configuration: WorkerConfiguration, factory: any RequestHandlerFactory,
                           logger: Logger) throws {
        try Worker(configuration: configuration, factory: factory, logger: logger).run()
    }

    /// See `Worker.run(configuration:factory:logger:)`.
    public func run() throws {
        let alreadyStarted = state.withLock { state -> Bool in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { throw FastCGIError(call: "Worker.run", code: EALREADY) }
        try FastCGI.initialize()
        let listener = try Listener(path: configuration.socketPath, backlog: configuration.backlog)
        state.withLock { $0.listener = listener }
        if shutdown.isRequested { listener.shutdown() }

        var subscription: Int?
        if configuration.handlesSignals {
            subscription = SignalWatcher.shared.subscribe([SIGTERM, SIGINT]) { [self] number in
                logger.info("signal received; shutting down", metadata: ["signal": "\(number)"])
                stop()
            }
        }
        defer { subscription.map(SignalWatcher.shared.unsubscribe) }

        let requestThreads = ThreadGroup()
        let backgroundThreads = ThreadGroup()
        for index in 0..<max(1, configuration.threads) {
            let thread = RequestThread(index: index, listener: listener, factory: factory,
                                       maxBodyBytes: configuration.maxBodyBytes, shutdown: shutdown, logger: logger,
                                       requestLogLevel: configuration.requestLogLevel)
            requestThreads.start(name: "request-\(index)") { thread.run() }
        }
        for (index, task) in configuration.backgroundTasks.enumerated() {
            backgroundThreads.start(name: "background-\(index)") { [shutdown] in task(shutdown) }
        }
        logger.info("worker listening", metadata: [
            "socket": "\(configuration.socketPath)", "threads": "\(configuration.threads)", "pid": "\(getpid())",
        ])
        listening.open()

        shutdown.wait(timeout: nil)
        listener.shutdown()
        logger.info("worker stopping: no new requests accepted", metadata: ["pid": "\(getpid())"])
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        let requestsDone = requestThreads.wait(until: deadline)
        let backgroundDone = backgroundThreads.wait(until: deadline)
        if requestsDone {
            listener.close()
        } else {
            // Busy threads may still touch the descriptor; only the socket file goes, the process exits anyway.
            listener.removeSocketFile()
            logger.warning("grace period over with requests still running",
                           metadata: ["threads": "\(requestThreads.runningCount)"])
        }
        if !backgroundDone {
            logger.warning("grace period over with background tasks still running",
                           metadata: ["tasks": "\(backgroundThreads.runningCount)"])
        }
        logger.info("worker stopped", metadata: ["pid": "\(getpid())"])
    }

    /// Begins shutdown: stops accepting at once and wakes `run()`. Safe from any thread, idempotent; also valid
    /// before `run()` (which then returns right after opening the socket).
    public func stop() {
        shutdown.request()
        state.withLock { $0.listener }?.shutdown()
    }

    /// Blocks until the socket accepts connections (or `timeout` passes); for tests and supervisors.
    @discardableResult
    public func waitUntilListening(timeout: Duration) -> Bool { listening.wait(timeout: timeout) }
}
