import Foundation

/// A double-quoted string that is both a JSON string literal and a YAML double-quoted scalar (their common
/// escapes only): the `.md` download's front matter and the JSON log lines write their values with it.
enum QuotedString {
    /// `value` in double quotes: backslash and quote escaped, every control, line or paragraph separator, DEL,
    /// C1 control and byte-order mark written as `\uXXXX`, so no value can end the string or its line.
    static func doubleQuoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                let v = scalar.value
                if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF {
                    out += String(format: "\\u%04X", v)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
