import Foundation

/// Cleans user text before anything else sees it (product.md §7.1): Unicode NFC, control characters and invisible
/// formatting characters removed, whitespace trimmed and, for one-line fields, collapsed to single spaces.
///
/// Lengths elsewhere are counted in Unicode scalars, the unit PostgreSQL's `length()` uses for the CHECK
/// constraints, so a value that passes here always fits its column.
public enum TextNormalizer {
    /// A one-line value (industry, region): every run of whitespace, line breaks included, becomes one space.
    public static func singleLine(_ text: String) -> String {
        let cleaned = removeInvisibles(text.precomposedStringWithCanonicalMapping)
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in cleaned.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = true
                continue
            }
            if pendingSpace, !out.isEmpty { out.append(" ") }
            pendingSpace = false
            out.append(scalar)
        }
        return String(out)
    }

    /// A multi-line value (focus): line breaks kept (CR LF and lone CR become LF; at most one blank line in a row),
    /// other whitespace runs within a line collapsed to one space, each line and the whole text trimmed.
    public static func multiLine(_ text: String) -> String {
        let unified = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\u{2028}", with: "\n").replacingOccurrences(of: "\u{2029}", with: "\n\n")
        var lines: [String] = []
        for line in unified.split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append(singleLine(String(line)))
        }
        var kept: [String] = []
        for line in lines where !(line.isEmpty && (kept.last?.isEmpty ?? true)) {
            kept.append(line)
        }
        while kept.last?.isEmpty == true { kept.removeLast() }
        return kept.joined(separator: "\n")
    }

    /// Removes control characters (Cc, except the whitespace ones that the callers collapse), bidirectional
    /// overrides and isolates (they can make text display differently from what it is), and invisible format
    /// characters. Zero-width joiners and non-joiners survive only between two visible characters, where they
    /// shape emoji sequences and scripts such as Persian; anywhere else they are invisible padding.
    static func removeInvisibles(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            switch scalar.properties.generalCategory {
            case .control:
                if scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0B}" || scalar == "\u{0C}"
                    || scalar == "\u{85}"
                {
                    out.append(" ")
                }
            case .format:
                if scalar == "\u{200C}" || scalar == "\u{200D}",
                    index > 0, index + 1 < scalars.count,
                    isVisible(scalars[index - 1]), isVisible(scalars[index + 1])
                {
                    out.append(scalar)
                }
            case .surrogate, .privateUse:
                continue
            default:
                // Variation selectors and other non-printing marks stay: they are part of a visible character.
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Whether the scalar shows something on screen (not whitespace, control or format).
    static func isVisible(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isWhitespace { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// The length PostgreSQL's `length()` reports (Unicode scalars).
    public static func length(_ text: String) -> Int { text.unicodeScalars.count }

    /// Whether the text holds at least one letter or digit in any script.
    public static func hasLetterOrDigit(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil }
    }
}
