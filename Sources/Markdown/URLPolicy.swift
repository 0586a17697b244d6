/// Which link and image URLs survive rendering, and how an href is escaped when this module writes one.
enum URLPolicy {
    private static let allowedSchemes: Set<String> = ["http", "https"]

    /// True only for absolute http(s) URLs (`https://host…`). Reports and console outputs come from upstream,
    /// so nothing else survives: no `mailto:` (an address is no link), no relative or `#fragment` URL (it would
    /// point into this site, e.g. at a form), no `//host`, and of course no `javascript`, `data`, `vbscript` or
    /// `file`. The URL is read the way a browser does: leading spaces and controls skipped, tabs and newlines
    /// ignored, case folded (`java\tscript:`, `HTTPS:`). cmark has already decoded entities by now.
    static func isAllowed(_ url: String) -> Bool {
        let scalars = url.unicodeScalars.drop { $0.value <= 0x20 }.filter { $0 != "\t" && $0 != "\n" && $0 != "\r" }
        guard let colon = scalars.firstIndex(of: ":") else { return false }
        let scheme = String(String.UnicodeScalarView(scalars[..<colon])).lowercased()
        let rest = scalars[scalars.index(after: colon)...]
        return allowedSchemes.contains(scheme) && rest.starts(with: "//".unicodeScalars)
            && rest.dropFirst(2).first.map { $0 != "/" && $0 != "\\" } == true
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
