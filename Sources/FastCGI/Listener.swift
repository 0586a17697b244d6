#if canImport(Glibc)
internal import Glibc
#endif
internal import Synchronization

/// A listening unix socket that request slots accept FastCGI connections on.
///
/// Shared by every request thread of a worker, so it is `Sendable`: the descriptor never changes and the
/// shutdown/close state sits behind a `Mutex`. The socket is created here rather than by `FCGX_OpenSocket`,
/// which calls `exit()` when `bind` fails instead of reporting the error.
public final class Listener: Sendable {
    /// The socket's filesystem path.
    public let path: String
    /// The listening descriptor handed to `FCGX_InitRequest`.
    let fileDescriptor: Int32
    /// Device and inode of the socket file we bound, so `close` never removes a successor's socket.
    private let identity: (device: UInt64, inode: UInt64)
    private let state = Mutex(State())

    private struct State {
        var isShutDown = false
        var isClosed = false
    }

    /// Binds and listens on `path`, replacing a stale socket file left by a dead process, and gives the socket
    /// `mode`: by default `0660`, connectable by its owner and its group only. nginx workers running as another
    /// user connect through the group: the socket directory is theirs and set-group-ID (scripts/stack.sh), so
    /// the socket inherits it. Any other local user is refused.
    /// Throws `EADDRINUSE` when a live process still listens there, and refuses to replace a non-socket file.
    public init(path: String, backlog: Int32 = 1024, mode: UInt32 = 0o660) throws(FastCGIError) {
        try FastCGI.initialize()
        guard let address = UnixAddress(path: path) else {
            throw FastCGIError(call: "sockaddr_un", code: ENAMETOOLONG, detail: path)
        }
        try Listener.removeStaleSocket(at: path, address: address)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .errno("socket", detail: path) }
        var info = stat()
        let bound = address.withSockaddr { bind(fd, $0, $1) } == 0
        guard bound, listen(fd, backlog) == 0, chmod(path, mode_t(mode)) == 0, lstat(path, &info) == 0 else {
            let error = FastCGIError.errno(bound ? "listen" : "bind", detail: path)
            Glibc.close(fd)
            if bound { unlink(path) }
            throw error
        }
        self.path = path
        self.fileDescriptor = fd
        self.identity = (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    deinit { close() }

    /// True once `shutdown()` has been called.
    public var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// Stops accepting: every thread blocked in `accept` on this listener returns (Linux wakes a blocked
    /// `accept()` with `EINVAL` when its listening socket is shut down), and later accepts fail at once.
    /// Idempotent. The descriptor stays open until `close()`, so no thread can race a reused descriptor.
    public func shutdown() {
        let alreadyDown = state.withLock { state -> Bool in
            defer { state.isShutDown = true }
            return state.isShutDown || state.isClosed
        }
        if !alreadyDown { _ = Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR)) }
    }

    /// Shuts down, closes the descriptor and removes the socket file if it is still the one bound here.
    /// Call it only when no thread uses the listener any more. Idempotent.
    public func close() {
        shutdown()
        let alreadyClosed = state.withLock { state -> Bool in
            defer { state.isClosed = true }
            return state.isClosed
        }
        guard !alreadyClosed else { return }
        Glibc.close(fileDescriptor)
        removeSocketFile()
    }

    /// Removes the socket file if it is still the one bound here, keeping the descriptor open (for a process
    /// about to exit while some thread may still use it). Idempotent.
    public func removeSocketFile() {
        var info = stat()
        if lstat(path, &info) == 0, UInt64(info.st_dev) == identity.device, UInt64(info.st_ino) == identity.inode {
            unlink(path)
        }
    }

    /// Removes a socket file nobody listens on; leaves a missing path alone.
    private static func removeStaleSocket(at path: String, address: UnixAddress) throws(FastCGIError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw FastCGIError(call: "bind", code: EEXIST, detail: "\(path) exists and is not a socket")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw .errno("socket", detail: path) }
        defer { Glibc.close(probe) }
        if address.withSockaddr({ connect(probe, $0, $1) }) == 0 {
            throw FastCGIError(call: "bind", code: EADDRINUSE, detail: "a live process listens on \(path)")
        }
        if unlink(path) != 0 && Glibc.errno != ENOENT { throw .errno("unlink", detail: path) }
    }
}
