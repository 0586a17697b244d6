/// One HTTP request to send with ``HTTPClient`` or follow with ``HTTPStreamSet``.
///
/// Header values often carry API keys: nothing in this module logs them or puts them in an error's `description`.
public struct HTTPRequest: Sendable {
    /// The method, such as `"GET"` or `"POST"`; any other token is sent as a custom method.
    public var method: String
    /// The absolute `http://` or `https://` URL.
    public var url: String
    /// Request headers in order; a header with an empty value is sent empty (not dropped).
    public var headers: [(name: String, value: String)]
    /// The request body; sent for every method when non-empty, and as an empty body for `POST`.
    public var body: [UInt8]
    /// Limit in seconds on the whole exchange; 0 means no limit (long-lived streams).
    public var timeout: Double
    /// Limit in seconds on resolving and connecting (including the TLS handshake).
    public var connectTimeout: Double
    /// Abort with ``HTTPClientError/Kind-swift.enum/stalled`` when no byte moves for this many seconds.
    ///
    /// Checked about once a second, so the effective limit is this value plus up to one second.
    public var idleTimeout: Double?
    /// Follow 3xx redirects (at most 5); off by default so a redirect comes back as the response.
    public var followRedirects: Bool
    /// A PEM file of trusted CA certificates replacing the system store; `nil` uses the system store.
    public var caCertificatePath: String?

    /// Creates a request; the defaults suit a JSON API call.
    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        timeout: Double = 30,
        connectTimeout: Double = 10,
        idleTimeout: Double? = nil,
        followRedirects: Bool = false,
        caCertificatePath: String? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.followRedirects = followRedirects
        self.caCertificatePath = caCertificatePath
    }

    /// The method and the URL without user info, query or fragment: safe to log.
    public var redactedTarget: String {
        "\(method) \(HTTPRequest.redact(url))"
    }

    /// Strips user info, query string and fragment, which may carry secrets.
    static func redact(_ url: String) -> String {
        var s = Substring(url)
        if let cut = s.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            s = s[..<cut]
        }
        if let schemeEnd = s.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = s[authorityStart...].firstIndex(of: "/") ?? s.endIndex
            if let at = s[authorityStart..<authorityEnd].lastIndex(of: "@") {
                s = s[..<authorityStart] + s[s.index(after: at)...]
            }
        }
        return String(s)
    }
}
