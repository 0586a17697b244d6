/// How a `Supervisor` starts and restarts its worker processes.
public struct SupervisorConfiguration: Sendable {
    /// Worker processes to keep running (`MARKETLENS_WORKERS`).
    public var workers: Int
    /// The program to spawn, e.g. `/proc/self/exe` to run this same executable with a hidden subcommand.
    public var executable: String
    /// The arguments after argv[0] for worker `index` (0-based), e.g. `["serve-worker", "--index", "0", …]`.
    public var arguments: @Sendable (Int) -> [String]
    /// The workers' environment; nil inherits this process's environment.
    public var environment: [String: String]?
    /// How long workers get to exit after SIGTERM before they are killed.
    public var shutdownGracePeriod: Duration
    /// The first restart delay; it doubles with each quick consecutive failure.
    public var restartDelay: Duration
    /// The longest restart delay of a crash-looping worker.
    public var maximumRestartDelay: Duration
    /// A worker that ran at least this long before dying is restarted at once with its back-off reset.
    public var stableAfter: Duration
    /// Whether `run` forwards SIGTERM and SIGINT as a shutdown. Tests that run a supervisor in-process turn
    /// it off.
    public var handlesSignals: Bool

    /// A configuration with production defaults.
    public init(
        workers: Int, executable: String, arguments: @escaping @Sendable (Int) -> [String],
        environment: [String: String]? = nil, shutdownGracePeriod: Duration = .seconds(30),
        restartDelay: Duration = .milliseconds(250), maximumRestartDelay: Duration = .seconds(30),
        stableAfter: Duration = .seconds(10), handlesSignals: Bool = true
    ) {
        self.workers = workers
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.shutdownGracePeriod = shutdownGracePeriod
        self.restartDelay = restartDelay
        self.maximumRestartDelay = maximumRestartDelay
        self.stableAfter = stableAfter
        self.handlesSignals = handlesSignals
    }
}

/// One supervised worker as the supervisor sees it.
public struct SupervisedWorker: Sendable, Equatable {
    /// The worker's index, 0 ..< workers.
    public var index: Int
    /// The running process, nil while it waits to be restarted.
    public var pid: Int32?
    /// How many times it was started again after dying.
    public var restarts: Int
}
