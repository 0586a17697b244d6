import Foundation
public import Logging

/// The one monitoring thread of a process, shared by its monitors (report runs, batch groups): it runs one
/// `FollowLoop` while at least one monitor uses it. Each monitor attaches when it starts and detaches when it stops;
/// detaching stops following that monitor's kind of work first (so its leases can be released safely), and the last
/// one to leave stops the thread.
public final class FollowLoopThread: @unchecked Sendable {
    /// The loop every attached monitor follows its work on.
    public let loop: FollowLoop
    private let lock = NSLock()
    private var users = 0
    private var running: (stop: StopLatch, done: StopLatch)?

    /// A loop storing through `lanes`; its thread starts with the first `attach`.
    public init(lanes: DatabaseLanes, logger: Logger) throws {
        loop = try FollowLoop(lanes: lanes, logger: logger)
    }

    /// Starts using the loop (and its thread, if this is the first user).
    public func attach() {
        lock.lock()
        defer { lock.unlock() }
        users += 1
        guard running == nil else { return }
        let stop = StopLatch(), done = StopLatch()
        running = (stop, done)
        let loop = loop
        let thread = Thread {
            loop.run(until: stop)
            done.request()
        }
        thread.name = "monitor"
        thread.start()
    }

    /// Stops following every key of `kind` (waiting, up to `timeout`, until the loop did), then stops the thread
    /// if no other user is left.
    public func detach(kind: String, timeout: Duration = .seconds(10)) {
        let cancelled = StopLatch()
        let loop = loop
        loop.enqueue {
            for key in loop.keys where key.kind == kind { loop.cancel(key) }
            cancelled.request()
        }
        _ = cancelled.wait(timeout: timeout)
        lock.lock()
        users -= 1
        let last = users == 0 ? running : nil
        if users == 0 { running = nil }
        lock.unlock()
        guard let last else { return }
        last.stop.request()
        loop.wakeUp()
        _ = last.done.wait(timeout: timeout)
    }
}
