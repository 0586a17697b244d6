internal import CCurl

/// Runs libcurl's one-time global setup on first use (thread-safe through Swift's lazy global initialisation).
private let curlGlobalInitResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// A blocking HTTP client for one thread: reuses its easy handle, so connections, DNS answers and TLS
/// sessions carry over between requests. Create one per thread, inside that thread.
public final class HTTPClient {
    private let handle: HTTPEasyHandle
    /// Set during a transfer: a callback calling back into this client would reset the handle under curl.
    private var busy = false

    /// Initialises libcurl once for the process. Call from `main` before starting threads; also done lazily.
    public static func globalInitialize() {
        _ = curlGlobalInitResult
    }

    /// Creates a client with its own easy handle.
    public init() throws(HTTPClientError) {
        handle = try HTTPEasyHandle()
    }

    /// Sends `request` and reads the whole response. A 4xx or 5xx status is returned, not thrown.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        var body: [UInt8] = []
        let head = try stream(request, onHead: { _ in true }, onBytes: { chunk in
            body.append(contentsOf: chunk)
            return true
        })
        return HTTPResponse(head: head, body: body)
    }

    /// Sends `request` and hands the body over as it arrives.
    ///
    /// `onHead` runs once with the final status and headers; returning false aborts with
    /// ``HTTPClientError/Kind-swift.enum/aborted``. `onBytes` runs for each chunk; returning false stops reading,
    /// which is a clean end (the connection is closed). Returns the head.
    ///
    /// `shouldStop` is asked about once a second, even while no byte arrives (so a quiet stream still notices
    /// a shutdown); true ends the transfer like `onBytes` returning false (or, before any head, as
    /// ``HTTPClientError/Kind-swift.enum/aborted``).
    public func stream(
        _ request: HTTPRequest,
        onHead: (HTTPResponseHead) -> Bool,
        onBytes: ([UInt8]) -> Bool,
        shouldStop: () -> Bool = { false }
    ) throws -> HTTPResponseHead {
        try withoutActuallyEscaping(onHead) { onHead in
            try withoutActuallyEscaping(onBytes) { onBytes in
                try withoutActuallyEscaping(shouldStop) { shouldStop in
                    try perform(request, onHead: onHead, onBytes: onBytes, shouldStop: shouldStop)
                }
            }
        }
    }

    private func perform(
        _ request: HTTPRequest,
        onHead: @escaping (HTTPResponseHead) -> Bool,
        onBytes: @escaping ([UInt8]) -> Bool,
        shouldStop: @escaping () -> Bool
    ) throws -> HTTPResponseHead {
        guard !busy else {
            throw HTTPClientError(
                kind: .other, code: Int32(bitPattern: CURLE_RECURSIVE_API_CALL.rawValue), call: "HTTPClient.stream",
                requestNotSent: true, target: request.redactedTarget, detail: "called from inside a callback of this client")
        }
        busy = true
        defer { busy = false }
        let state = HTTPTransferState(request: request, onHead: onHead, onBytes: onBytes, shouldStop: shouldStop)
        // The state must not outlive this call (withoutActuallyEscaping checks), and curl must not keep
        // pointers into it: reset the handle before returning.
        defer { handle.reset() }
        try handle.configure(for: request, state: state)
        let code = withExtendedLifetime(state) { curl_easy_perform(handle.raw) }
        return try HTTPClient.outcome(of: code, handle: handle, state: state, call: "curl_easy_perform")
    }

    /// Turns a finished transfer into its head or an error; shared with ``HTTPStreamSet``.
    static func outcome(
        of code: CURLcode, handle: HTTPEasyHandle, state: HTTPTransferState, call: String
    ) throws -> HTTPResponseHead {
        if state.stoppedByReader, !state.stalled, !state.cancelled, let head = state.head {
            return head
        }
        if code == CURLE_OK, !state.stoppedByReader, let head = state.completedHead(status: handle.responseCode) {
            return head
        }
        if state.stoppedByReader && !state.stalled {
            throw HTTPClientError(
                kind: .aborted, code: Int32(bitPattern: code.rawValue), call: call,
                requestNotSent: !handle.requestStarted, target: state.target, detail: "stopped before a response head")
        }
        if state.headRejected || state.cancelled {
            throw HTTPClientError(
                kind: .aborted, code: Int32(bitPattern: code.rawValue), call: call,
                requestNotSent: false, target: state.target, detail: "aborted by the caller")
        }
        throw HTTPClientError(code: code, state: state, call: call, requestStarted: handle.requestStarted)
    }
}
