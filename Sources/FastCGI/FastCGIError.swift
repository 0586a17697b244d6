#if canImport(Glibc)
internal import Glibc
#endif

/// A failed libfcgi or socket call: the call's name and its native code (an errno, or one of libfcgi's
/// negative `FCGX_*_ERROR` codes).
public struct FastCGIError: Error, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The C call that failed, e.g. `FCGX_FFlush` or `bind`.
    public let call: String
    /// The errno (positive) or libfcgi's own negative code.
    public let code: Int32
    /// Extra detail for debugging (e.g. a socket path); never part of `description`.
    public let detail: String

    public init(call: String, code: Int32, detail: String = "") {
        self.call = call
        self.code = code
        self.detail = detail
    }

    /// True when the failure means the peer (the web server or its client) is gone.
    public var isConnectionLost: Bool {
        code == EPIPE || code == ECONNRESET || code == ENOTCONN || code == ESHUTDOWN || code == ECONNABORTED
    }

    /// A short name for `code`, safe to log.
    public var codeName: String {
        switch code {
        case -2: return "FCGX_UNSUPPORTED_VERSION"
        case -3: return "FCGX_PROTOCOL_ERROR"
        case -4: return "FCGX_PARAMS_ERROR"
        case -5: return "FCGX_CALL_SEQ_ERROR"
        case ..<0: return "libfcgi error \(code)"
        default: return String(cString: strerror(code))
        }
    }

    public var description: String { "\(call) failed: \(codeName) (\(code))" }

    public var debugDescription: String { detail.isEmpty ? description : "\(description): \(detail)" }

    /// The error for a failed libc call, reading `errno` now.
    static func errno(_ call: String, detail: String = "") -> FastCGIError {
        FastCGIError(call: call, code: Glibc.errno, detail: detail)
    }
}
