#if canImport(Glibc)
internal import Glibc
#endif
internal import CFastCGI
internal import Synchronization

/// A request taken out of its request slot (`RequestSlot.detach()`) so that its response can go on being
/// written by another thread while the slot accepts the next request: how one thread serves thousands of
/// open event streams.
///
/// Sendable because it owns its `FCGX_Request` outright and every call holds its lock; writes never wait
/// long for a slow client (a send timeout fails them instead), and `isWritable` tells beforehand whether
/// a write of up to ``safeWriteBytes`` fits without waiting.
public final class DetachedRequest: Sendable {
    /// A write up to this size fits whenever `isWritable` says so (a quarter of the socket buffer is free).
    public static let safeWriteBytes = 32 * 1024
    /// How long one blocked send may wait before the request counts as gone.
    static let sendTimeoutSeconds = 2

    private struct Owned: @unchecked Sendable {
        let request: UnsafeMutablePointer<FCGX_Request>
        var finished = false
    }

    private let owned: Mutex<Owned>
    /// The connection's descriptor (for readiness checks only).
    private let descriptor: Int32

    init(taking request: UnsafeMutablePointer<FCGX_Request>) {
        descriptor = request.pointee.ipcFd
        owned = Mutex(Owned(request: request))
        var timeout = timeval(tv_sec: Self.sendTimeoutSeconds, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        finish()
        owned.withLock { $0.request.deallocate() }
    }

    /// Appends bytes to the response; throws when the connection is gone (or was finished).
    public func write(_ bytes: [UInt8]) throws(FastCGIError) {
        try owned.withLock { (state: inout Owned) throws(FastCGIError) in
            guard !state.finished, let output = state.request.pointee.out else {
                throw FastCGIError(call: "FCGX_PutStr", code: EPIPE)
            }
            try ResponseOutput.write(bytes, to: output)
        }
    }

    /// Sends what is buffered; throws when the connection is gone.
    public func flush() throws(FastCGIError) {
        try owned.withLock { (state: inout Owned) throws(FastCGIError) in
            guard !state.finished, let output = state.request.pointee.out else {
                throw FastCGIError(call: "FCGX_FFlush", code: EPIPE)
            }
            try ResponseOutput.flush(output)
        }
    }

    /// True when a write of up to ``safeWriteBytes`` will not wait for the web server to read, or when the
    /// connection is gone (the write then says so). False while the client reads slower than we write.
    public var isWritable: Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        let result = poll(&entry, 1, 0)
        if result < 0 { return true }
        return entry.revents != 0
    }

    /// Linux's `POLLRDHUP` (a GNU extension Glibc's module map does not export).
    private static let pollReadHangUp: Int16 = 0x2000

    /// True once the web server closed the connection (nginx does when the visitor leaves). The request was
    /// read completely before it was detached, so a readable socket with nothing to read means end of file.
    public var isPeerClosed: Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN) | Self.pollReadHangUp, revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        if entry.revents & (Self.pollReadHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0 { return true }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0
    }

    /// Ends the response (`FCGX_Finish_r`: flushes, sends END_REQUEST, closes the connection). Idempotent.
    ///
    /// The read side is shut first: libfcgi's close otherwise lingers up to 2 s until the web server closes its
    /// end, and the request was read completely long ago.
    public func finish() {
        owned.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            shutdown(descriptor, Int32(SHUT_RD))
            FCGX_Finish_r(state.request)
        }
    }
}
