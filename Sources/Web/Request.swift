/// One HTTP request as the web layer sees it, whatever transport carried it.
public struct Request: Sendable {
    /// Upper-case method, e.g. `GET`.
    public var method: String
    /// The path without the query string, still percent-encoded (e.g. `/r/cold-chain-ab12`).
    public var path: String
    /// The raw query string without `?` (may be empty).
    public var query: String
    /// Request headers (from `HTTP_*` params when behind FastCGI, plus `Content-Type` and `Content-Length`).
    public var headers: HTTPHeaders
    /// The request body, fully read.
    public var body: [UInt8]
    /// The client address as nginx reports it (already resolved through `real_ip`).
    public var remoteAddress: String
    /// `https` or `http`.
    public var scheme: String
    /// A short id for log correlation (nginx `$request_id` when present).
    public var requestID: String
    /// Route parameters filled in by the router (`/reports/:id` → `["id": "…"]`).
    public var parameters: [String: String]

    public init(
        method: String, path: String, query: String = "", headers: HTTPHeaders = [:], body: [UInt8] = [],
        remoteAddress: String = "", scheme: String = "https", requestID: String = "", parameters: [String: String] = [:]
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.scheme = scheme
        self.requestID = requestID
        self.parameters = parameters
    }
}
