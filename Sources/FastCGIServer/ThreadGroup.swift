import Foundation
internal import Synchronization

/// Dedicated threads started together, with a way to wait (with a deadline) until all of them have returned.
final class ThreadGroup: Sendable {
    private let running = Mutex(0)
    private let allDone = Latch()

    /// Starts `body` on a new named thread.
    func start(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        running.withLock { $0 += 1 }
        let thread = Thread { [self] in
            body()
            let left = running.withLock { count -> Int in
                count -= 1
                return count
            }
            if left == 0 { allDone.open() }
        }
        thread.name = name
        if let stackSize { thread.stackSize = stackSize }
        thread.start()
    }

    /// Threads that have not returned yet.
    var runningCount: Int { running.withLock { $0 } }

    /// Waits until every started thread has returned, or `deadline` passes. Returns whether all returned.
    func wait(until deadline: ContinuousClock.Instant) -> Bool {
        if runningCount == 0 { return true }
        let left = ContinuousClock.now.duration(to: deadline)
        return allDone.wait(timeout: max(left, .zero)) || runningCount == 0
    }
}
