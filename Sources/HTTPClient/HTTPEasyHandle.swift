internal import CCurl

/// Owns one `CURL` easy handle and the header list of the request it is configured for.
final class HTTPEasyHandle {
    let raw: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// The state curl's callbacks and error buffer point into: held here so it outlives `curl_easy_cleanup`.
    private var state: HTTPTransferState?

    init() throws(HTTPClientError) {
        HTTPClient.globalInitialize()
        guard let handle = curl_easy_init() else {
            throw HTTPClientError(
                kind: .other, code: Int32(bitPattern: CURLE_FAILED_INIT.rawValue), call: "curl_easy_init",
                requestNotSent: true)
        }
        raw = handle
    }

    deinit {
        curl_easy_cleanup(raw)
        curl_slist_free_all(headerList)
    }

    /// Clears every option (keeping live connections, DNS and TLS session caches) and frees the header list.
    func reset() {
        curl_easy_reset(raw)
        curl_slist_free_all(headerList)
        headerList = nil
        state = nil
    }

    /// Sets every option for `request`, pointing the callbacks at `state`, which must outlive the transfer.
    func configure(for request: HTTPRequest, state: HTTPTransferState) throws {
        reset()
        self.state = state
        let context = Unmanaged.passUnretained(state).toOpaque()
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(state.errorBuffer))
        try set(CURLOPT_URL, request.url)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        // Threads: never let libcurl use signals (SIGALRM for DNS timeouts would hit a random thread).
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        try set(CURLOPT_MAXREDIRS, 5)
        try set(CURLOPT_TIMEOUT_MS, milliseconds(request.timeout))
        try set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout))
        if let path = request.caCertificatePath {
            try set(CURLOPT_CAINFO, path)
        }
        try configureMethod(request)
        try configureHeaders(request)

        try check(ml_curl_easy_setopt_header_callback(raw, { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            let state = Unmanaged<HTTPTransferState>.fromOpaque(context).takeUnretainedValue()
            let length = size * count
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: length)
            return state.receiveHeaderLine(bytes) ? length : 0
        }), "curl_easy_setopt(HEADERFUNCTION)")
        try set(CURLOPT_HEADERDATA, pointer: context)
        try check(ml_curl_easy_setopt_write_callback(raw, { buffer, size, count, context in
            guard let context else { return 0 }
            let state = Unmanaged<HTTPTransferState>.fromOpaque(context).takeUnretainedValue()
            let length = size * count
            guard let buffer else { return length }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: length)
            return state.receiveBody(bytes) ? length : 0
        }), "curl_easy_setopt(WRITEFUNCTION)")
        try set(CURLOPT_WRITEDATA, pointer: context)
        try check(ml_curl_easy_setopt_xferinfo_callback(raw, { context, _, downloaded, _, uploaded in
            guard let context else { return 1 }
            let state = Unmanaged<HTTPTransferState>.fromOpaque(context).takeUnretainedValue()
            return state.progress(downloaded: downloaded, uploaded: uploaded) ? 0 : 1
        }), "curl_easy_setopt(XFERINFOFUNCTION)")
        try set(CURLOPT_XFERINFODATA, pointer: context)
        try set(CURLOPT_NOPROGRESS, 0)
    }

    private func configureMethod(_ request: HTTPRequest) throws {
        let method = request.method.uppercased()
        switch method {
        case "GET" where request.body.isEmpty:
            try set(CURLOPT_HTTPGET, 1)
        case "HEAD" where request.body.isEmpty:
            try set(CURLOPT_NOBODY, 1)
        default:
            if method != "POST" {
                try set(CURLOPT_CUSTOMREQUEST, request.method)
            }
            if method == "POST" || !request.body.isEmpty {
                // POSTFIELDSIZE first, so COPYPOSTFIELDS copies exactly that many bytes (NULs included).
                try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: curl_off_t(request.body.count))
                if request.body.isEmpty {
                    try set(CURLOPT_COPYPOSTFIELDS, "")
                } else {
                    try request.body.withUnsafeBytes { bytes in
                        try set(CURLOPT_COPYPOSTFIELDS, pointer: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                    }
                }
            }
        }
    }

    private func configureHeaders(_ request: HTTPRequest) throws {
        var list: UnsafeMutablePointer<curl_slist>?
        var hasExpect = false
        for (name, value) in request.headers {
            // CR or LF would let a value inject further header lines.
            guard !name.contains(where: { $0.isNewline }), !value.contains(where: { $0.isNewline }) else {
                curl_slist_free_all(list)
                throw HTTPClientError(
                    kind: .other, code: Int32(bitPattern: CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                    call: "curl_slist_append", requestNotSent: true, target: request.redactedTarget,
                    detail: "header line break in \(name)")
            }
            if name.lowercased() == "expect" { hasExpect = true }
            // curl drops "Name:" as "remove this header"; "Name;" sends it with an empty value.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw HTTPClientError(
                    kind: .other, code: Int32(bitPattern: CURLE_OUT_OF_MEMORY.rawValue), call: "curl_slist_append",
                    requestNotSent: true, target: request.redactedTarget)
            }
            list = appended
        }
        if !hasExpect, let appended = curl_slist_append(list, "Expect:") {
            // Without this curl waits up to a second for "100 Continue" before sending a large body.
            list = appended
        }
        headerList = list
        try check(ml_curl_easy_setopt_slist(raw, CURLOPT_HTTPHEADER, list), "curl_easy_setopt(HTTPHEADER)")
    }

    private func milliseconds(_ seconds: Double) -> Int {
        guard seconds > 0, seconds.isFinite else { return 0 }
        return max(1, Int((seconds * 1000).rounded(.up)))
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(ml_curl_easy_setopt_long(raw, option, value), "curl_easy_setopt")
    }

    func set(_ option: CURLoption, _ value: String) throws {
        try check(ml_curl_easy_setopt_string(raw, option, value), "curl_easy_setopt")
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws {
        try check(ml_curl_easy_setopt_pointer(raw, option, pointer), "curl_easy_setopt")
    }

    func set(_ option: CURLoption, offset: curl_off_t) throws {
        try check(ml_curl_easy_setopt_offset(raw, option, offset), "curl_easy_setopt")
    }

    private func check(_ code: CURLcode, _ call: String) throws {
        guard code == CURLE_OK else {
            throw HTTPClientError(
                kind: .other, code: Int32(bitPattern: code.rawValue), call: call, requestNotSent: true,
                detail: String(cString: curl_easy_strerror(code)))
        }
    }

    /// The status code curl saw last (0 when none).
    var responseCode: Int {
        var code = 0
        _ = ml_curl_easy_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// Whether curl got as far as sending the request: it records the pre-transfer time just before, and
    /// counts the request size once queued. Both still zero means nothing can have reached the server.
    var requestStarted: Bool {
        var requestSize = 0
        _ = ml_curl_easy_getinfo_long(raw, CURLINFO_REQUEST_SIZE, &requestSize)
        var pretransfer = 0.0
        _ = ml_curl_easy_getinfo_double(raw, CURLINFO_PRETRANSFER_TIME, &pretransfer)
        return requestSize > 0 || pretransfer > 0
    }
}
