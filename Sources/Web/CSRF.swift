/// Double-submit CSRF protection: a random token lives in a cookie and is repeated in every form; a post is
/// accepted only when both are present and equal. Cross-site pages cannot read the cookie, so they cannot
/// repeat it (and `SameSite=Lax` keeps it off cross-site posts anyway).
public struct CSRF: Sendable {
    /// A token to put in a form, and the `Set-Cookie` value to send when the cookie has to be (re)issued.
    public struct Token: Sendable, Equatable {
        /// The token for the form's hidden field.
        public var value: String
        /// A `Set-Cookie` header value when the browser does not hold a valid token yet, else nil.
        public var setCookie: String?

        /// Creates a token value.
        public init(value: String, setCookie: String?) {
            self.value = value
            self.setCookie = setCookie
        }
    }

    /// The usual settings: cookie `__Host-csrf_token`, Secure, 12 hours.
    public static let standard = CSRF()

    /// Name of the cookie holding the token.
    public var cookieName: String
    /// Name of the hidden form field that repeats it.
    public var formField: String
    /// Cookie lifetime in seconds.
    public var maxAge: Int
    /// Whether the cookie is `Secure` (true behind TLS, which is how Marketlens is served).
    public var secure: Bool

    /// Creates a configuration. Without a `cookieName`, a secure cookie is called `__Host-csrf_token`: browsers
    /// then only accept it from this exact host over HTTPS with `Path=/`, so a sibling subdomain cannot plant
    /// a token of its choosing (the classic hole in double-submit cookies). An insecure one is `csrf_token`.
    public init(cookieName: String? = nil, formField: String = "csrf_token", maxAge: Int = 12 * 3600,
                secure: Bool = true) {
        self.cookieName = cookieName ?? (secure ? "__Host-csrf_token" : "csrf_token")
        self.formField = formField
        self.maxAge = maxAge
        self.secure = secure
    }

    /// The token in the request's cookie if it is well-formed; nil (and nothing made) otherwise.
    public func existingToken(in request: Request) -> String? {
        request.cookies[cookieName].flatMap { Self.isWellFormed($0) ? $0 : nil }
    }

    /// The request's token if its cookie holds a well-formed one, otherwise a fresh token with its cookie.
    public func token(for request: Request) -> Token {
        if let existing = existingToken(in: request) { return Token(value: existing, setCookie: nil) }
        let fresh = Self.generate()
        let cookie = SetCookie(name: cookieName, value: fresh, maxAge: maxAge, secure: secure)
        return Token(value: fresh, setCookie: cookie.headerValue)
    }

    /// Throws a 403 unless the cookie and `formToken` are present, well-formed and equal (compared in
    /// constant time so the comparison leaks nothing about the token).
    public func verify(_ request: Request, formToken: String?) throws(HTTPError) {
        guard let cookie = request.cookies[cookieName], Self.isWellFormed(cookie),
            let formToken, Self.isWellFormed(formToken),
            Self.constantTimeEquals(Array(cookie.utf8), Array(formToken.utf8))
        else {
            throw HTTPError.forbidden(
                "Your session expired or the form was sent from elsewhere. Please reload the page and try again.",
                code: "csrf_failed")
        }
    }

    /// 32 random bytes from the system generator, base64url without padding (43 characters).
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base64URL.encode(bytes)
    }

    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy(Base64URL.isAlphabetByte)
    }

    /// Compares every byte whatever the first difference, so timing reveals nothing but the length.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// base64url (RFC 4648 §5) without padding.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * $1.offset) }
            for position in 0..<(chunk.count + 1) {
                out.append(alphabet[Int((value >> (18 - 6 * position)) & 0x3F)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isAlphabetByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }
}
