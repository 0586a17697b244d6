/// Tells a worker's long-lived threads (request threads, background tasks such as the monitoring thread)
/// that the process is shutting down. Safe to share between threads.
public final class ShutdownSignal: Sendable {
    private let latch = Latch()

    /// A fresh signal, not yet requested.
    public init() {}

    /// True once shutdown was requested.
    public var isRequested: Bool { latch.isOpen }

    /// Requests shutdown and wakes every waiter. Idempotent.
    public func request() { latch.open() }

    /// Sleeps up to `timeout` (nil: until shutdown) and returns true as soon as shutdown is requested; a loop
    /// `while !signal.wait(timeout: .seconds(1)) { … }` does periodic work and stops promptly.
    @discardableResult
    public func wait(timeout: Duration?) -> Bool { latch.wait(timeout: timeout) }

    /// A descriptor that becomes readable (end of file) when shutdown is requested, for threads that block in
    /// `poll` or `epoll_wait` and want to wake for shutdown too. Poll it; never read or close it.
    public var fileDescriptor: Int32 { latch.fileDescriptor }
}
