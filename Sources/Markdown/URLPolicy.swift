/// Which link and image URLs survive rendering, and how an href is escaped when this module writes one.
enum URLPolicy {
    private static let allowedSchemes: Set<String> = ["http", "https", "mailto"]

    /// True for http(s), mailto, and scheme-less (relative, `#fragment`, `//host`) URLs. The scheme is read
    /// the way a browser does: leading spaces and controls skipped, tabs and newlines ignored, case folded;
    /// anything that merely looks like a scheme but is not on the list (`javascript`, `data`, `vbscript`,
    /// `file`, `java script`) is refused. cmark has already decoded entities (`&#106;avascript:`) by now.
    static func isAllowed(_ url: String) -> Bool {
        let scalars = url.unicodeScalars.drop { $0.value <= 0x20 }.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }
        guard let colon = scalars.firstIndex(of: ":") else { return true }
        let before = scalars[..<colon]
        if before.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { return true }
        let scheme = String(String.UnicodeScalarView(before)).lowercased()
        return allowedSchemes.contains(scheme)
    }

    /// Whether the URL leaves the site: absolute http(s) or protocol-relative.
    static func isExternal(_ url: String) -> Bool {
        let lower = url.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("//")
    }

    /// Escapes an href for an attribute the way cmark does: URL-safe bytes kept (so existing `%xx` escapes
    /// survive), `&` and `'` as entities, everything else percent-encoded (quotes, `<`, spaces, non-ASCII).
    static func escapeHref(_ url: String) -> String {
        var out = ""
        out.reserveCapacity(url.utf8.count)
        for byte in url.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out += "&amp;"
            case UInt8(ascii: "'"): out += "&#x27;"
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where "-_.+!*(),%#@?=;:/$~[]".utf8.contains(byte):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
            }
        }
        return out
    }

    private static let hexDigits = Array("0123456789ABCDEF")
}
