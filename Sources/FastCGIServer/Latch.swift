#if canImport(Glibc)
internal import Glibc
#endif
internal import Synchronization

/// A one-way gate threads can block on with a timeout, built on a pipe so it is also a pollable descriptor:
/// opening it closes the pipe's write end, which makes the read end readable (end of file) for good.
final class Latch: Sendable {
    private let readEnd: Int32
    private let writeEnd: Mutex<Int32>

    init() {
        // Out of descriptors: degrade to a latch that polls its flag.
        let fds = makePipe() ?? (-1, -1)
        readEnd = fds.read
        writeEnd = Mutex(fds.write)
        opened = Atomic(false)
    }

    private let opened: Atomic<Bool>

    deinit {
        if readEnd >= 0 { close(readEnd) }
        writeEnd.withLock { if $0 >= 0 { close($0) } }
    }

    /// True once `open()` has been called.
    var isOpen: Bool { opened.load(ordering: .acquiring) }

    /// The read end: readable (EOF) once the latch is open. Never read from it; poll it.
    var fileDescriptor: Int32 { readEnd }

    /// Opens the latch, waking every waiter. Idempotent.
    func open() {
        opened.store(true, ordering: .releasing)
        writeEnd.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// Blocks until the latch opens or `timeout` passes (nil: no limit). Returns whether it is open.
    @discardableResult
    func wait(timeout: Duration?) -> Bool {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while !isOpen {
            var milliseconds: Int32 = -1
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                if left <= .zero { return false }
                milliseconds = Int32(clamping: max(1, left.components.seconds * 1000
                    + left.components.attoseconds / 1_000_000_000_000_000))
            }
            if readEnd < 0 {
                usleep(10_000)
                continue
            }
            var entry = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, milliseconds)
        }
        return true
    }
}

/// A pipe whose ends are closed on exec (Glibc does not export `pipe2`).
func makePipe() -> (read: Int32, write: Int32)? {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return nil }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return (fds[0], fds[1])
}
