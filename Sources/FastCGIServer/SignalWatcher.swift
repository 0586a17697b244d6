#if canImport(Glibc)
internal import Glibc
#endif
internal import Foundation
internal import Synchronization

/// The write end of the self-pipe. Set once, before the first handler is installed, and only read afterwards
/// (by the signal handler, which may do nothing but `write`).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// The signal handler: async-signal-safe, it only writes the signal number to the self-pipe.
private func forwardSignal(_ number: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipeWriteEnd, &byte, 1)
    errno = saved
}

/// Process-wide signal delivery to Swift callbacks: a `sigaction` handler writes the signal number to a pipe
/// and one dedicated thread reads it and calls the subscribers, outside signal context. Works whatever the
/// signal masks of threads started elsewhere. A signal that arrives while nobody subscribes gets its default
/// action (so SIGTERM still terminates a process whose worker already returned).
final class SignalWatcher: Sendable {
    /// The single watcher of this process.
    static let shared = SignalWatcher()

    private struct Subscriber {
        let signals: Set<Int32>
        let callback: @Sendable (Int32) -> Void
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var installed: Set<Int32> = []
    }

    private let state = Mutex(State())
    private let readEnd: Int32

    private init() {
        let fds = makePipe() ?? (-1, -1)
        // A full pipe must never block the handler; dropping a repeated signal is harmless.
        _ = fcntl(fds.write, F_SETFL, fcntl(fds.write, F_GETFL) | O_NONBLOCK)
        readEnd = fds.read
        signalPipeWriteEnd = fds.write
        let reader = Thread { [readEnd] in SignalWatcher.readLoop(readEnd) }
        reader.name = "signal-watcher"
        reader.start()
    }

    /// Calls `callback` on the watcher thread whenever one of `signals` arrives, until `unsubscribe(_:)`.
    func subscribe(_ signals: Set<Int32>, _ callback: @escaping @Sendable (Int32) -> Void) -> Int {
        state.withLock { state in
            for number in signals.subtracting(state.installed) {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = forwardSignal
                sigemptyset(&action.sa_mask)
                action.sa_flags = SA_RESTART
                sigaction(number, &action, nil)
                state.installed.insert(number)
            }
            state.nextID += 1
            state.subscribers[state.nextID] = Subscriber(signals: signals, callback: callback)
            return state.nextID
        }
    }

    /// Stops calling the subscriber with this id.
    func unsubscribe(_ id: Int) {
        state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
    }

    private static func readLoop(_ fd: Int32) {
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return }
            shared.deliver(Int32(byte))
        }
    }

    private func deliver(_ number: Int32) {
        let callbacks = state.withLock { state in
            state.subscribers.values.filter { $0.signals.contains(number) }.map(\.callback)
        }
        if callbacks.isEmpty {
            state.withLock { _ = $0.installed.remove(number) }
            signal(number, SIG_DFL)
            kill(getpid(), number)
            return
        }
        for callback in callbacks { callback(number) }
    }
}
