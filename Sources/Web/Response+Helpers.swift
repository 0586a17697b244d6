/// Status codes a redirect may use.
public enum RedirectStatus: Int, Sendable {
    /// 302 Found.
    case found = 302
    /// 303 See Other: after a form post, GET the new resource.
    case seeOther = 303
    /// 307 Temporary Redirect, method preserved.
    case temporary = 307
    /// 308 Permanent Redirect, method preserved.
    case permanent = 308
}

/// A `Cache-Control` policy.
public enum CacheControl: Sendable, Equatable {
    /// `no-store`: personal or one-off answers.
    case noStore
    /// `no-cache`: may be stored, must be revalidated (live streams, pages that change).
    case noCache
    /// `public, max-age=N`.
    case publicMaxAge(Int)
    /// `private, max-age=N`.
    case privateMaxAge(Int)
    /// `public, max-age=31536000, immutable`: fingerprinted assets.
    case immutable

    /// The header value.
    public var headerValue: String {
        switch self {
        case .noStore: "no-store"
        case .noCache: "no-cache"
        case .publicMaxAge(let seconds): "public, max-age=\(max(0, seconds))"
        case .privateMaxAge(let seconds): "private, max-age=\(max(0, seconds))"
        case .immutable: "public, max-age=31536000, immutable"
        }
    }
}

extension Response {
    /// An HTML page (`text/html; charset=utf-8`).
    public static func html(_ html: String, status: Int = 200) -> Response {
        Response(status: status, contentType: "text/html; charset=utf-8", text: html)
    }

    /// Plain text (`text/plain; charset=utf-8`).
    public static func text(_ text: String, status: Int = 200) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", text: text)
    }

    /// A JSON body (`application/json`), slashes unescaped; throws only if `value` fails to encode.
    public static func json(_ value: some Encodable, status: Int = 200, sortedKeys: Bool = false) throws -> Response {
        let bytes = try JSONBody.encode(value, sortedKeys: sortedKeys)
        return Response(status: status, headers: ["Content-Type": "application/json"], body: .bytes(bytes))
    }

    /// 204 No Content.
    public static var noContent: Response { Response(status: 204) }

    /// A redirect to a same-site path (`/reports/abc?x=1`), or to an absolute URL under `allowedOrigin`
    /// (e.g. `https://example.com`). Anything else (another site, `//host`, `/\host`, a scheme such as
    /// `javascript:`, control characters) is refused with a 400 so user-supplied targets cannot redirect off-site.
    public static func redirect(
        to location: String, status: RedirectStatus = .seeOther, allowedOrigin: String? = nil
    ) throws(HTTPError) -> Response {
        guard Self.isSafeRedirectTarget(location, allowedOrigin: allowedOrigin) else {
            throw HTTPError.badRequest("The redirect target is not allowed.", code: "invalid_redirect")
        }
        return Response(status: status.rawValue, headers: ["Location": location])
    }

    /// Whether `location` stays on this site; see `redirect(to:status:allowedOrigin:)`. Only printable ASCII
    /// is accepted (a `Location` must be percent-encoded anyway), which also rules out tricks with combining
    /// marks or look-alike slashes; checks run on bytes.
    public static func isSafeRedirectTarget(_ location: String, allowedOrigin: String? = nil) -> Bool {
        let bytes = Array(location.utf8)
        // Control characters would allow header injection; backslashes are read as slashes by browsers.
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else {
            return false
        }
        if bytes[0] == UInt8(ascii: "/") { return bytes.count == 1 || bytes[1] != UInt8(ascii: "/") }
        guard let origin = allowedOrigin?.lowercased(), !origin.isEmpty else { return false }
        let base = Array((origin.hasSuffix("/") ? String(origin.dropLast()) : origin).utf8)
        let lower = Array(location.lowercased().utf8)
        return lower == base || lower.starts(with: base + [UInt8(ascii: "/")])
    }

    /// This response without its body (for HEAD), keeping the `Content-Length` a GET would have had; a stream
    /// is dropped without running.
    public func withoutBody() -> Response {
        var copy = self
        if case .bytes(let bytes) = body, copy.headers["Content-Length"] == nil {
            copy.headers["Content-Length"] = String(bytes.count)
        }
        copy.body = .bytes([])
        return copy
    }

    /// This response with `Cache-Control` set.
    public func cacheControl(_ policy: CacheControl) -> Response {
        var copy = self
        copy.headers["Cache-Control"] = policy.headerValue
        return copy
    }

    /// This response with one more header field (kept alongside existing ones, e.g. `Set-Cookie`).
    public func addingHeader(_ name: String, _ value: String) -> Response {
        var copy = self
        copy.headers.add(name, value)
        return copy
    }

    /// This response with a `Set-Cookie` header.
    public func settingCookie(_ cookie: SetCookie) -> Response { addingHeader("Set-Cookie", cookie.headerValue) }
}
