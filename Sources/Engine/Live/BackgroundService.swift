/// A long-lived job of a worker process that runs on its own dedicated thread beside the request threads
/// (the monitoring thread, the relay hub's listener). `run` returns soon after `stop` is requested.
public protocol BackgroundService: Sendable {
    /// A short name for logs.
    var name: String { get }
    /// Runs until `stop` is requested. Creates its own database connection and HTTP client inside.
    func run(until stop: any StopSignal)
}
