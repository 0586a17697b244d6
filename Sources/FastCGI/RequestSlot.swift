#if canImport(Glibc)
internal import Glibc
#endif
internal import CFastCGI

/// The outcome of reading a request body with a size limit.
public enum RequestBody: Equatable, Sendable {
    /// The whole body, at most the limit.
    case complete([UInt8])
    /// More bytes arrived than the limit allows; the rest was not read.
    case tooLarge
}

/// One request thread's `FCGX_Request`: accepts a connection, exposes its params and body, writes the response.
///
/// Create it on the thread that uses it and keep it there (not `Sendable`). libfcgi's borrowed memory (params)
/// is copied out as soon as a request is accepted.
public final class RequestSlot {
    private var request: UnsafeMutablePointer<FCGX_Request>
    private let listener: Listener
    private var isActive = false

    /// The current request's FastCGI params (CGI variables such as `REQUEST_METHOD`, `HTTP_HOST`); empty between
    /// requests.
    public private(set) var params: [String: String] = [:]

    /// Prepares a slot accepting on `listener` (`FCGX_InitRequest` with `FCGI_FAIL_ACCEPT_ON_INTR`).
    public init(listener: Listener) throws(FastCGIError) {
        try FastCGI.initialize()
        self.listener = listener
        request = try Self.makeRequest(listener)
    }

    private static func makeRequest(_ listener: Listener) throws(FastCGIError) -> UnsafeMutablePointer<FCGX_Request> {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        let result = FCGX_InitRequest(request, listener.fileDescriptor, FCGI_FAIL_ACCEPT_ON_INTR)
        if result != 0 {
            request.deallocate()
            throw FastCGIError(call: "FCGX_InitRequest", code: result)
        }
        return request
    }

    deinit {
        finish()
        // Frees whatever the last accept allocated; closes nothing because `finish` already did.
        FCGX_Free(request, 0)
        request.deallocate()
    }

    /// Finishes any current request, then blocks until the next one arrives. Returns false once the listener is
    /// shut down. Connections that send garbage are dropped inside libfcgi and never reach the caller.
    public func accept() throws(FastCGIError) -> Bool {
        finish()
        while true {
            if listener.isShutDown { return false }
            let result = FCGX_Accept_r(request)
            if result >= 0 { break }
            if listener.isShutDown { return false }
            // libfcgi returns -errno, or -9998/-9999 when it has no errno.
            let code = result <= -9998 ? result : -result
            if code == EINTR { continue }
            throw FastCGIError(call: "FCGX_Accept_r", code: code)
        }
        isActive = true
        params = copyParams()
        return true
    }

    /// Reads the request body (FastCGI stdin) to its end, unless it exceeds `limit` bytes.
    public func readBody(limit: Int) throws(FastCGIError) -> RequestBody {
        guard isActive, let input = request.pointee.in else {
            throw FastCGIError(call: "FCGX_GetStr", code: -5)
        }
        var body: [UInt8] = []
        let chunkSize = 64 * 1024
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            // Asking for one byte past the limit tells "exactly at the limit" from "over it".
            let wanted = min(chunkSize, limit - body.count + 1)
            let count = chunk.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: wanted) {
                    FCGX_GetStr($0, Int32(wanted), input)
                }
            }
            let error = FCGX_GetError(input)
            if error != 0 { throw FastCGIError(call: "FCGX_GetStr", code: error) }
            if count > 0 { body.append(contentsOf: chunk[0..<Int(count)]) }
            if body.count > limit { return .tooLarge }
            if count < wanted { return .complete(body) }
        }
    }

    /// Appends bytes to the response (FastCGI stdout). Succeeds into libfcgi's buffer even when the client is
    /// gone; only a full buffer that fails to send throws. Use `flush` to learn whether the client is there.
    public func write(_ bytes: [UInt8]) throws(FastCGIError) {
        guard isActive, let output = request.pointee.out else {
            throw FastCGIError(call: "FCGX_PutStr", code: -5)
        }
        try ResponseOutput.write(bytes, to: output)
    }

    /// Appends a UTF-8 string to the response.
    public func write(_ string: String) throws(FastCGIError) { try write(Array(string.utf8)) }

    /// Sends everything buffered to the web server now. Throws when the connection is gone (this, and not
    /// `write`, is where a disconnected client shows up).
    public func flush() throws(FastCGIError) {
        guard isActive, let output = request.pointee.out else {
            throw FastCGIError(call: "FCGX_FFlush", code: -5)
        }
        try ResponseOutput.flush(output)
    }

    /// Completes the current request (`FCGX_Finish_r`: flushes, sends END_REQUEST, closes the connection).
    /// Does nothing between requests.
    public func finish() {
        guard isActive else { return }
        isActive = false
        params = [:]
        FCGX_Finish_r(request)
    }

    /// Takes the current request out of the slot, for another thread to go on writing its response and finish
    /// it; the slot is ready to accept the next request. Nil between requests (or when no fresh request can be
    /// prepared, in which case the current one stays here).
    public func detach() -> DetachedRequest? {
        guard isActive, let fresh = try? Self.makeRequest(listener) else { return nil }
        let taken = request
        request = fresh
        isActive = false
        params = [:]
        return DetachedRequest(taking: taken)
    }

    private func copyParams() -> [String: String] {
        var result: [String: String] = [:]
        guard var cursor = request.pointee.envp else { return result }
        while let entry = cursor.pointee {
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self),
                                            count: strlen(entry))
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: bytes[..<equals], as: UTF8.self)
                let value = String(decoding: bytes[(equals + 1)...], as: UTF8.self)
                result[name] = value
            }
            cursor += 1
        }
        return result
    }
}
