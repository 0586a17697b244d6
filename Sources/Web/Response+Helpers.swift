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

    /// Whether `location` stays on this site; see `redirect(to:status:allowedOrigin:)`.
    public static func isSafeRedirectTarget(_ location: String, allowedOrigin: String? = nil) -> Bool {
        // Control characters would allow header injection; backslashes are read as slashes by browsers.
        guard !location.isEmpty, !location.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }),
            !location.contains("\\")
        else { return false }
        if location.hasPrefix("/") { return !location.hasPrefix("//") }
        if let origin = allowedOrigin, !origin.isEmpty {
            let base = origin.hasSuffix("/") ? String(origin.dropLast()) : origin
            return location.lowercased() == base.lowercased() || location.lowercased().hasPrefix(base.lowercased() + "/")
        }
        return false
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
