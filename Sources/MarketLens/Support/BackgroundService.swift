/// Tells a background service that its worker process is shutting down. The transport provides it, so the app
/// does not depend on how the process is run.
public protocol StopSignal: Sendable {
    /// True once shutdown was requested.
    var isRequested: Bool { get }
    /// Sleeps until shutdown is requested or `timeout` passes; returns true when shutdown was requested.
    func wait(timeout: Duration) -> Bool
}

/// A long-lived job of a worker process that runs on its own dedicated thread beside the request threads
/// (the monitoring thread, the relay hub's listener). `run` returns soon after `stop` is requested.
public protocol BackgroundService: Sendable {
    /// A short name for logs.
    var name: String { get }
    /// Runs until `stop` is requested. Creates its own database connection and HTTP client inside.
    func run(until stop: any StopSignal)
}
