/// Parsing the `Cookie` request header.
public enum Cookies {
    /// Parses `a=1; b="2"` into a dictionary. When a name repeats, the first value wins (browsers send the
    /// most specific path first). Pairs with an invalid name are ignored; values are not percent-decoded.
    public static func parse(_ header: String) -> [String: String] {
        var cookies: [String: String] = [:]
        for pair in header.split(separator: ";") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = pair[..<equals].trimmingWhitespace()
            var value = pair[pair.index(after: equals)...].trimmingWhitespace()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            guard !name.isEmpty, name.allSatisfy(ContentType.isTokenCharacter) else { continue }
            if cookies[name] == nil { cookies[name] = value }
        }
        return cookies
    }
}

/// A `Set-Cookie` header value with safe defaults: `Path=/`, `HttpOnly`, `Secure`, `SameSite=Lax`.
public struct SetCookie: Sendable, Equatable {
    /// The `SameSite` attribute.
    public enum SameSite: String, Sendable {
        case strict = "Strict"
        case lax = "Lax"
        case none = "None"
    }

    /// Cookie name; characters that are not HTTP token characters are removed when serialised.
    public var name: String
    /// Cookie value; characters outside RFC 6265 `cookie-octet` are removed when serialised.
    public var value: String
    /// `Path`, `/` by default.
    public var path: String
    /// `Max-Age` in seconds; nil makes a session cookie, 0 deletes the cookie.
    public var maxAge: Int?
    /// `HttpOnly`: hidden from JavaScript.
    public var httpOnly: Bool
    /// `Secure`: sent over HTTPS only.
    public var secure: Bool
    /// `SameSite`, Lax by default.
    public var sameSite: SameSite

    /// Creates a cookie.
    public init(
        name: String, value: String, path: String = "/", maxAge: Int? = nil, httpOnly: Bool = true,
        secure: Bool = true, sameSite: SameSite = .lax
    ) {
        self.name = name
        self.value = value
        self.path = path
        self.maxAge = maxAge
        self.httpOnly = httpOnly
        self.secure = secure
        self.sameSite = sameSite
    }

    /// A cookie that deletes `name` in the browser (`Max-Age=0`).
    public static func deleting(_ name: String, path: String = "/", secure: Bool = true) -> SetCookie {
        SetCookie(name: name, value: "", path: path, maxAge: 0, secure: secure)
    }

    /// The header value, e.g. `csrf=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax`.
    public var headerValue: String {
        let safeName = String(name.filter(ContentType.isTokenCharacter))
        let safeValue = String(value.unicodeScalars.filter(Self.isCookieOctet).map(Character.init))
        let safePath = String(path.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != ";" }
            .map(Character.init))
        var parts = ["\(safeName)=\(safeValue)", "Path=\(safePath.isEmpty ? "/" : safePath)"]
        if let maxAge { parts.append("Max-Age=\(max(0, maxAge))") }
        if httpOnly { parts.append("HttpOnly") }
        if secure || sameSite == .none { parts.append("Secure") }
        parts.append("SameSite=\(sameSite.rawValue)")
        return parts.joined(separator: "; ")
    }

    /// RFC 6265: `%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
    private static func isCookieOctet(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x21, 0x23...0x2B, 0x2D...0x3A, 0x3C...0x5B, 0x5D...0x7E: true
        default: false
        }
    }
}
