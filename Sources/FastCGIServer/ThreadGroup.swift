#if canImport(Glibc)
internal import Glibc
#endif
import Foundation
internal import Synchronization

/// Dedicated threads started together, with a way to wait (with a deadline) until all of them have returned.
final class ThreadGroup: Sendable {
    private let running = Mutex(0)

    /// Starts `body` on a new named thread (the name shows in `/proc/<pid>/task/*/comm`, `top -H` and `perf`).
    func start(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        running.withLock { $0 += 1 }
        let thread = Thread { [self] in
            // Foundation passes a name on to the kernel only when set on the running thread itself.
            Thread.current.name = name
            body()
            running.withLock { $0 -= 1 }
        }
        thread.name = name
        if let stackSize { thread.stackSize = stackSize }
        thread.start()
    }

    /// Threads that have not returned yet.
    var runningCount: Int { running.withLock { $0 } }

    /// Waits until every started thread has returned, or `deadline` passes. Returns whether all returned.
    /// Polls: it runs once per shutdown, and a count that touches zero while threads are still being started
    /// cannot fool it.
    func wait(until deadline: ContinuousClock.Instant) -> Bool {
        while runningCount > 0 {
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
        return true
    }
}
