internal import CCurl

/// A failed HTTP exchange: no usable response arrived. A 4xx or 5xx status is not an error.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, coarse enough to decide on a retry.
    public enum Kind: Sendable, Equatable {
        /// The host name did not resolve.
        case couldNotResolve
        /// The TCP connection was refused or could not be made.
        case couldNotConnect
        /// The total or connect time limit passed.
        case timedOut
        /// No byte moved for ``HTTPRequest/idleTimeout``.
        case stalled
        /// Sending the request failed midway.
        case sendFailed
        /// Receiving the response failed midway, or the server closed without answering.
        case receiveFailed
        /// The caller aborted (its `onHead` returned false, or it removed the stream).
        case aborted
        /// The TLS handshake or certificate check failed.
        case tls
        /// Anything else (bad URL, unsupported protocol, out of memory, ...).
        case other
    }

    /// What went wrong.
    public var kind: Kind
    /// The native `CURLcode` (or `CURLMcode` when `call` is a `curl_multi_*` function).
    public var code: Int32
    /// The failing libcurl call, such as `curl_easy_perform`.
    public var call: String
    /// True only when the failure certainly happened before any request byte was sent, so even a
    /// non-idempotent `POST` may be retried without risk of doing it twice.
    public var requestNotSent: Bool
    /// Method and URL without user info, query or fragment (see ``HTTPRequest/redactedTarget``).
    public var target: String
    /// libcurl's message for the failure; kept out of `description` because it may name hosts and paths.
    public var detail: String

    /// Creates an error.
    public init(kind: Kind, code: Int32, call: String, requestNotSent: Bool, target: String = "", detail: String = "") {
        self.kind = kind
        self.code = code
        self.call = call
        self.requestNotSent = requestNotSent
        self.target = target
        self.detail = detail
    }

    /// Safe to log: the kind, the curl code and the call, no URL and no header.
    public var description: String {
        "HTTPClientError(\(kind), curl code \(code) in \(call)\(requestNotSent ? ", request not sent" : ""))"
    }

    /// The description plus the redacted target and libcurl's message.
    public var debugDescription: String {
        var text = description
        if !target.isEmpty { text += " for \(target)" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}

extension HTTPClientError {
    /// Classifies an easy-handle result; `stalled`/`aborted` come from our own callbacks' flags.
    init(code: CURLcode, state: HTTPTransferState, call: String, requestStarted: Bool) {
        let kind: Kind
        var notSent = false
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .couldNotResolve
            notSent = true
        case CURLE_COULDNT_CONNECT:
            kind = .couldNotConnect
            notSent = true
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timedOut
            // A timeout before curl queued the request (resolving, connecting) cannot have sent anything.
            notSent = !requestStarted
        case CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR:
            kind = state.stalled ? .stalled : .aborted
        case CURLE_SEND_ERROR, CURLE_UPLOAD_FAILED, CURLE_READ_ERROR:
            kind = .sendFailed
        case CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM,
             CURLE_WEIRD_SERVER_REPLY:
            kind = .receiveFailed
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
             CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED, CURLE_SSL_CRL_BADFILE:
            kind = .tls
            // The TLS handshake precedes the request, so a handshake failure sent nothing.
            notSent = true
        default:
            kind = .other
            notSent = code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL
        }
        let message = state.errorMessage
        self.init(
            kind: kind, code: Int32(bitPattern: code.rawValue), call: call, requestNotSent: notSent,
            target: state.target, detail: message.isEmpty ? String(cString: curl_easy_strerror(code)) : message)
    }
}
