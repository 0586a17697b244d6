/// Convenience accessors over the raw request; every parser here is strict and throws `HTTPError`.
extension Request {
    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers[name] }

    /// The query string parsed strictly; a bad escape or invalid UTF-8 is a 400.
    public var queryItems: URLEncodedForm {
        get throws(HTTPError) { try URLEncodedForm(parsing: query) }
    }

    /// The first value of query parameter `name`, or nil; throws 400 on bad encoding.
    public func queryValue(_ name: String) throws(HTTPError) -> String? { try queryItems[name] }

    /// Cookies from every `Cookie` header; the first value of a repeated name wins.
    public var cookies: [String: String] {
        var all: [String: String] = [:]
        for header in headers.values("Cookie") {
            all.merge(Cookies.parse(header)) { first, _ in first }
        }
        return all
    }

    /// The parsed `Content-Type`, or nil when absent or malformed.
    public var contentType: ContentType? { headers["Content-Type"].flatMap(ContentType.init(parsing:)) }

    /// Whether the client would rather have HTML than JSON (a browser navigation).
    public var acceptsHTML: Bool {
        let accept = AcceptHeader(headers["Accept"] ?? "")
        return accept.quality(of: "text/html") > 0 && accept.quality(of: "text/html") >= accept.quality(of: "application/json")
    }

    /// Whether errors and answers should be JSON: the path is under `/api/`, `/research/` or `/webhooks/` (callers
    /// are programs: Parallel's webhook too), or `Accept` ranks `application/json` above `text/html`. `/api`
    /// itself is the API reference page for people.
    public var wantsJSON: Bool {
        if path.hasPrefix("/api/") || path == "/research" || path.hasPrefix("/research/") || path.hasPrefix("/webhooks/") {
            return true
        }
        let accept = AcceptHeader(headers["Accept"] ?? "")
        let json = accept.quality(of: "application/json")
        return json > 0 && json > accept.quality(of: "text/html")
    }

    /// The body as an `application/x-www-form-urlencoded` form: 415 for another content type or charset,
    /// 413 over the limits, 400 for bad encoding.
    public func form(limits: URLEncodedForm.Limits = .init()) throws(HTTPError) -> URLEncodedForm {
        guard let type = contentType, type.isURLEncodedForm, type.isUTF8OrUnspecified else {
            throw HTTPError.unsupportedMediaType(expected: "application/x-www-form-urlencoded")
        }
        return try URLEncodedForm(parsing: body, limits: limits)
    }

    /// The body decoded as JSON into `T`: 415 unless the content type is JSON, 413 above `maxBytes`, 400 for
    /// malformed JSON, 422 (with the offending field) when the JSON does not fit `T`.
    public func decodeJSON<T: Decodable>(_ type: T.Type, maxBytes: Int = 1 << 20) throws(HTTPError) -> T {
        guard let contentType, contentType.isJSON, contentType.isUTF8OrUnspecified else {
            throw HTTPError.unsupportedMediaType(expected: "application/json")
        }
        return try JSONBody.decode(type, from: body, maxBytes: maxBytes)
    }
}

/// An `Accept` header reduced to the quality the client gives a media type.
struct AcceptHeader {
    private var ranges: [(type: String, quality: Double)] = []

    init(_ header: String) {
        for item in header.split(separator: ",") {
            guard let contentType = ContentType(parsing: String(item)) else { continue }
            let quality = contentType.parameters["q"].flatMap(Double.init) ?? 1
            ranges.append((contentType.mediaType, min(max(quality, 0), 1)))
        }
    }

    /// The quality of the most specific matching range; a missing header accepts everything equally.
    func quality(of mediaType: String) -> Double {
        if ranges.isEmpty { return 1 }
        let major = mediaType.split(separator: "/").first.map(String.init) ?? ""
        if let exact = ranges.first(where: { $0.type == mediaType }) { return exact.quality }
        if let partial = ranges.first(where: { $0.type == major + "/*" }) { return partial.quality }
        return ranges.first(where: { $0.type == "*/*" })?.quality ?? 0
    }
}

extension Request {
    /// The path as logs may show it: a secret carried in the path (the owner's `/manage/{token}`) is replaced
    /// by `…`, so a debug log never holds a manage token.
    public var loggablePath: String {
        path.hasPrefix("/manage/") ? "/manage/…" : path
    }
}
