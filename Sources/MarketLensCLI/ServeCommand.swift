import Engine
import ArgumentParser
import FastCGI
import FastCGIServer
import Foundation
import HTTPClient
import Logging
import MarketLens

/// `marketlens serve`: the supervisor. Starts `MARKETLENS_WORKERS` worker processes, each a `serve-worker` on
/// its own unix socket, restarts any that dies, and stops them all gracefully on SIGTERM or Ctrl-C.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the FastCGI worker processes behind nginx (foreground; SIGTERM or Ctrl-C stops them).",
        discussion: """
            Worker i listens on $MARKETLENS_SOCKET_DIR/worker-i.sock with $MARKETLENS_THREADS request threads.
            A worker that dies is restarted. On SIGTERM every worker stops accepting, finishes its requests and exits.
            Logs go to standard error: swift-log lines, or with LOG_FORMAT=json one JSON object per line and one \
            info line per request (request id, route, status, duration, worker, API key name).
            """)

    func run() throws {
        let (configuration, logger) = try CommandEnvironment.load(label: "marketlens.supervisor")
        try FileManager.default.createDirectory(
            atPath: configuration.socketDirectory, withIntermediateDirectories: true)
        // Fail fast on template errors here rather than in a crash-looping worker.
        _ = try PageRenderer(directory: configuration.templatesDirectory)
        logger.info("starting", metadata: ["config": "\(configuration)"])
        let socketDirectory = configuration.socketDirectory
        let supervisorPID = String(ProcessInfo.processInfo.processIdentifier)
        let supervisor = Supervisor(
            configuration: SupervisorConfiguration(
                workers: configuration.workers, executable: "/proc/self/exe",
                arguments: { index in
                    ["serve-worker", "--index", String(index), "--socket", "\(socketDirectory)/worker-\(index).sock",
                     "--supervisor-pid", supervisorPID]
                }),
            logger: logger)
        let status = supervisor.run()
        if status != 0 { throw ExitCode(status) }
    }
}

/// `marketlens serve-worker`: one FastCGI worker process (started by `serve`; hidden from help).
struct ServeWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-worker",
        abstract: "Run one FastCGI worker process on a unix socket (started by `serve`).",
        shouldDisplay: false)

    @Option(help: "Worker index, used in logs and metrics.")
    var index = 0

    @Option(help: "Unix socket path to listen on.")
    var socket: String

    @Option(help: .hidden)
    var supervisorPid: Int32?

    func run() throws {
        // Started by `serve`: stop when it is gone, even if it was killed with SIGKILL.
        if let supervisorPid { ParentWatch.stopWhenParentExits(expectedParent: supervisorPid) }
        let (configuration, baseLogger) = try CommandEnvironment.load(label: "marketlens.worker")
        let logger = {
            var logger = baseLogger
            logger[metadataKey: "worker"] = "\(index)"
            return logger
        }()
        try FastCGI.initialize()
        HTTPClient.globalInitialize()
        let descriptors = DescriptorLimit.raiseToHardLimit()
        let app = try MarketLensApp(
            configuration: configuration, worker: String(index), logger: logger,
            live: LiveSettings(environment: ProcessInfo.processInfo.environment, descriptorLimit: descriptors))
        let services = app.backgroundServices
        var workerConfiguration = WorkerConfiguration(
            socketPath: socket, threads: configuration.threads, maxBodyBytes: 1 << 20,
            backgroundTasks: services.map { service in
                { @Sendable signal in
                    Thread.current.name = service.name  // for per-thread CPU in top -H, perf, bench/streams.sh
                    logger.info("background service started", metadata: ["service": "\(service.name)"])
                    service.run(until: WorkerStopSignal(signal: signal))
                    logger.info("background service stopped", metadata: ["service": "\(service.name)"])
                }
            })
        // A log shipper gets every request as a line of its own; in text, nginx's access log has them.
        if configuration.logFormat == "json" { workerConfiguration.requestLogLevel = .info }
        logger.info("worker listening", metadata: ["socket": "\(socket)", "threads": "\(configuration.threads)"])
        try Worker.run(configuration: workerConfiguration, factory: app, logger: logger)
        logger.info("worker stopped")
    }
}

/// The worker's shutdown signal, as the app's background services see it.
struct WorkerStopSignal: StopSignal {
    let signal: ShutdownSignal
    var isRequested: Bool { signal.isRequested }
    func wait(timeout: Duration) -> Bool { signal.wait(timeout: timeout) }
}
