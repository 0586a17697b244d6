#if canImport(Glibc)
internal import Glibc
#endif
internal import CFastCGI

/// Writing a request's FastCGI stdout, shared by a request slot and a detached request.
enum ResponseOutput {
    /// Appends bytes to the stream's buffer; libfcgi sends a full buffer on its own. Throws only when such a
    /// send fails.
    static func write(_ bytes: [UInt8], to output: UnsafeMutablePointer<FCGX_Stream>) throws(FastCGIError) {
        var offset = 0
        while offset < bytes.count {
            let count = min(bytes.count - offset, 1 << 20)
            let written = bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: count) {
                    FCGX_PutStr($0, Int32(count), output)
                }
            }
            if written != Int32(count) { throw streamError("FCGX_PutStr", output) }
            offset += count
        }
    }

    /// Sends what is buffered; throws when the connection is gone.
    static func flush(_ output: UnsafeMutablePointer<FCGX_Stream>) throws(FastCGIError) {
        // FCGX_FFlush returns 0 on a stream that already failed earlier, so the stream error decides.
        let result = FCGX_FFlush(output)
        if result != 0 || FCGX_GetError(output) != 0 { throw streamError("FCGX_FFlush", output) }
    }

    static func streamError(_ call: String, _ stream: UnsafeMutablePointer<FCGX_Stream>) -> FastCGIError {
        let code = FCGX_GetError(stream)
        return FastCGIError(call: call, code: code == 0 ? EPIPE : code)
    }
}
