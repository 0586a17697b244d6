#if canImport(Glibc)
internal import Glibc
#endif
public import Logging
internal import Synchronization

/// Keeps N worker processes running: spawns them, restarts one that dies (with back-off and a crash-loop
/// warning), and on SIGTERM/SIGINT or `stop()` forwards SIGTERM to all, waits for them (SIGKILL after the grace
/// period) and returns. Children are watched by polling `waitpid` on their own pids, never `waitpid(-1)`, so
/// other children of the process are left alone.
public final class Supervisor: Sendable {
    /// What this supervisor was configured with.
    public let configuration: SupervisorConfiguration
    private let logger: Logger
    private let stopping = Latch()
    private let state: Mutex<[Slot]>

    private struct Slot {
        var pid: pid_t?
        var startedAt = ContinuousClock.now
        var restartAt: ContinuousClock.Instant?
        var quickFailures = 0
        var restarts = 0
    }

    /// A supervisor that will start `configuration.workers` workers when `run()` is called.
    public init(configuration: SupervisorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        state = Mutex(Array(repeating: Slot(), count: max(0, configuration.workers)))
    }

    /// The workers now: index, pid (nil while waiting for a restart) and restart count.
    public func workers() -> [SupervisedWorker] {
        state.withLock { slots in
            slots.enumerated().map { SupervisedWorker(index: $0.offset, pid: $0.element.pid, restarts: $0.element.restarts) }
        }
    }

    /// Begins shutdown; `run()` then stops the workers and returns. Safe from any thread, idempotent.
    public func stop() { stopping.open() }

    /// Runs until stopped. Returns 0 when every worker exited within the grace period, 1 when some had to be
    /// killed.
    public func run() -> Int32 {
        var subscription: Int?
        if configuration.handlesSignals {
            subscription = SignalWatcher.shared.subscribe([SIGTERM, SIGINT]) { [self] number in
                logger.info("signal received; stopping workers", metadata: ["signal": "\(number)"])
                stop()
            }
        }
        defer { subscription.map(SignalWatcher.shared.unsubscribe) }

        for index in 0..<configuration.workers { start(index) }
        while !stopping.wait(timeout: .milliseconds(50)) {
            reapExited()
            restartDue()
        }
        return stopAll()
    }

    private func start(_ index: Int) {
        let arguments = configuration.arguments(index)
        let result = ChildProcess.spawn(executable: configuration.executable, arguments: arguments,
                                        environment: configuration.environment)
        let now = ContinuousClock.now
        switch result {
        case .success(let pid):
            state.withLock {
                $0[index].pid = pid
                $0[index].startedAt = now
                $0[index].restartAt = nil
            }
            logger.info("worker started", metadata: ["worker": "\(index)", "pid": "\(pid)"])
        case .failure(let error):
            logger.error("worker spawn failed", metadata: ["worker": "\(index)", "error": "\(error)"])
            state.withLock { $0[index].startedAt = now }
            scheduleRestart(index, ranFor: .zero)
        }
    }

    private func reapExited() {
        let running = state.withLock { slots in slots.enumerated().compactMap { slot in slot.element.pid.map { (slot.offset, $0) } } }
        for (index, pid) in running {
            guard let status = ChildProcess.reap(pid) else { continue }
            let ranFor = state.withLock { slots -> Duration in
                slots[index].pid = nil
                return slots[index].startedAt.duration(to: .now)
            }
            logger.warning("worker exited", metadata: ["worker": "\(index)", "pid": "\(pid)", "status": "\(status)"])
            scheduleRestart(index, ranFor: ranFor)
        }
    }

    private func scheduleRestart(_ index: Int, ranFor: Duration) {
        let (delay, failures) = state.withLock { slots -> (Duration, Int) in
            if ranFor >= configuration.stableAfter { slots[index].quickFailures = 0 }
            let failures = slots[index].quickFailures
            slots[index].quickFailures += 1
            var delay = min(configuration.restartDelay, configuration.maximumRestartDelay)
            for _ in 0..<min(failures, 32) { delay = min(delay * 2, configuration.maximumRestartDelay) }
            slots[index].restartAt = ContinuousClock.now + delay
            return (delay, failures + 1)
        }
        if failures >= 5 {
            logger.error("worker is crash-looping", metadata: [
                "worker": "\(index)", "failures": "\(failures)", "restart_in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
            ])
        }
    }

    private func restartDue() {
        let now = ContinuousClock.now
        let due = state.withLock { slots in
            slots.indices.filter { slots[$0].pid == nil && (slots[$0].restartAt.map { $0 <= now } ?? false) }
        }
        for index in due {
            state.withLock { $0[index].restarts += 1 }
            logger.info("restarting worker", metadata: ["worker": "\(index)"])
            start(index)
        }
    }

    private func stopAll() -> Int32 {
        let pids = state.withLock { $0.compactMap(\.pid) }
        logger.info("stopping workers", metadata: ["count": "\(pids.count)"])
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        while ContinuousClock.now < deadline && state.withLock({ $0.contains { $0.pid != nil } }) {
            reapExitedQuietly()
            if state.withLock({ $0.contains { $0.pid != nil } }) { usleep(20_000) }
        }
        let stuck = state.withLock { $0.compactMap(\.pid) }
        for pid in stuck {
            logger.warning("worker did not stop in time; killing it", metadata: ["pid": "\(pid)"])
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        state.withLock { slots in for index in slots.indices { slots[index].pid = nil } }
        logger.info("all workers stopped")
        return stuck.isEmpty ? 0 : 1
    }

    private func reapExitedQuietly() {
        let running = state.withLock { slots in slots.enumerated().compactMap { slot in slot.element.pid.map { (slot.offset, $0) } } }
        for (index, pid) in running {
            guard let status = ChildProcess.reap(pid) else { continue }
            state.withLock { $0[index].pid = nil }
            logger.info("worker exited", metadata: ["worker": "\(index)", "pid": "\(pid)", "status": "\(status)"])
        }
    }
}
