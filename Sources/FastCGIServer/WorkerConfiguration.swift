public import Logging

/// How one FastCGI worker process listens and serves.
public struct WorkerConfiguration: Sendable {
    /// The unix socket path nginx connects to (a stale socket file is replaced; removed again on exit).
    public var socketPath: String
    /// Request threads, each with its own request slot and handler (`MARKETLENS_THREADS`).
    public var threads: Int
    /// Largest request body accepted; larger ones get `413` without reaching the handler.
    public var maxBodyBytes: Int
    /// How long in-flight requests and background tasks may take to finish after shutdown starts.
    public var shutdownGracePeriod: Duration
    /// The listen backlog.
    public var backlog: Int32
    /// Whether `run` stops on SIGTERM and SIGINT. Tests that run a worker in-process turn it off.
    public var handlesSignals: Bool
    /// Long-lived threads started beside the request threads (e.g. the monitoring thread). Each runs on its
    /// own dedicated thread and must return soon after its `ShutdownSignal` is requested.
    public var backgroundTasks: [@Sendable (ShutdownSignal) -> Void]
    /// The level of the one line logged per request (method, path, route, status, duration, request id):
    /// `debug` by default (nginx's access log has every request); `info` when a log shipper wants them.
    public var requestLogLevel: Logger.Level = .debug

    /// A configuration with production defaults.
    public init(
        socketPath: String, threads: Int = 32, maxBodyBytes: Int = 1 << 20,
        shutdownGracePeriod: Duration = .seconds(25), backlog: Int32 = 1024, handlesSignals: Bool = true,
        backgroundTasks: [@Sendable (ShutdownSignal) -> Void] = []
    ) {
        self.socketPath = socketPath
        self.threads = threads
        self.maxBodyBytes = maxBodyBytes
        self.shutdownGracePeriod = shutdownGracePeriod
        self.backlog = backlog
        self.handlesSignals = handlesSignals
        self.backgroundTasks = backgroundTasks
    }
}
