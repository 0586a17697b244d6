import Foundation
import Synchronization

/// Tells a long-lived job that its process is shutting down. The transport provides it (the worker's shutdown
/// signal), so the engine and the app do not depend on how the process is run.
public protocol StopSignal: Sendable {
    /// True once shutdown was requested.
    var isRequested: Bool { get }
    /// Sleeps until shutdown is requested or `timeout` passes; returns true when shutdown was requested.
    func wait(timeout: Duration) -> Bool
}

/// A stop signal of the engine's own: a flag a thread can block on (a condition variable, never a sleep loop).
/// The engine stops its lane threads with it; tests stop services with it.
public final class StopLatch: StopSignal, @unchecked Sendable {
    private let condition = NSCondition()
    private var requested = false

    /// A latch not yet requested.
    public init() {}

    /// Requests the stop and wakes every waiter.
    public func request() {
        condition.lock()
        requested = true
        condition.broadcast()
        condition.unlock()
    }

    public var isRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return requested
    }

    public func wait(timeout: Duration) -> Bool {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !requested {
            if !condition.wait(until: deadline) { break }
        }
        return requested
    }
}
