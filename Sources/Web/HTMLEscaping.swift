/// Escaping for strings put into HTML outside templates, and a filter for URLs taken from untrusted data.
public enum HTMLEscaping {
    /// Escapes `& < > " '` so the text is inert in element content and in quoted attribute values.
    public static func escapeHTML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `url` trimmed, if it is an absolute `http`/`https` URL with a host and no whitespace or control
    /// characters; otherwise nil (so `javascript:`, `data:`, relative and garbled URLs never become links).
    /// The result must still be escaped when written into an attribute.
    public static func safeURL(_ url: String) -> String? {
        let trimmed = url.trimmingWhitespace()
        guard !trimmed.unicodeScalars.contains(where: { $0.value <= 0x20 || (0x7F...0x9F).contains($0.value) }),
            !trimmed.contains("\\")
        else { return nil }
        let lower = trimmed.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = trimmed.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            rest = trimmed.dropFirst(7)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        let hostName = host.hasPrefix("[") ? host : (host.split(separator: ":", omittingEmptySubsequences: false).first ?? "")
        return hostName.isEmpty ? nil : trimmed
    }
}
