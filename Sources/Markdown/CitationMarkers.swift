import Foundation

/// Citation markers in report text: `[3]`, and the grouped forms deep-research reports also write, `[1, 3]`,
/// `[2; 5]` and ranges `[1–3]` (hyphen, en or em dash). `[1][2]` is simply two markers. Numbers have 1 to 4
/// digits; anything else in brackets (`[x]`, `[12345]`, `[]`) is ordinary text.
public enum CitationMarkers {
    /// A run of text or one marker.
    public enum Piece: Equatable, Sendable {
        /// Ordinary text.
        case text(String)
        /// One bracketed marker exactly as written, with the parts inside it in order.
        case marker(written: String, parts: [Part])
    }

    /// What a marker holds between its brackets.
    public enum Part: Equatable, Sendable {
        /// A cited number.
        case number(Int)
        /// A separator as written (`, `, `; `, `–`).
        case separator(String)
    }

    /// Every number a marker cites; a range `[2–4]` cites 2, 3 and 4 (at most 50 of them).
    public static func numbers(in parts: [Part]) -> [Int] {
        var out: [Int] = []
        var index = 0
        while index < parts.count {
            if case .number(let low) = parts[index] {
                if index + 2 < parts.count, case .separator(let sep) = parts[index + 1], isDash(sep),
                    case .number(let high) = parts[index + 2], high >= low
                {
                    out += Array(low...min(high, low + 49))
                    index += 3
                    continue
                }
                out.append(low)
            }
            index += 1
        }
        return out
    }

    /// `text` without its markers, runs of spaces collapsed.
    public static func removing(from text: String) -> String {
        split(text).compactMap { if case .text(let plain) = $0 { plain } else { nil } }.joined()
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// Splits `text` into text and markers.
    public static func split(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var plain = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "[", let (parts, end) = marker(in: scalars, from: index) {
                if !plain.isEmpty { pieces.append(.text(String(plain))) }
                plain = String.UnicodeScalarView()
                pieces.append(.marker(written: String(String.UnicodeScalarView(scalars[index...end])), parts: parts))
                index = end + 1
                continue
            }
            plain.append(scalars[index])
            index += 1
        }
        if !plain.isEmpty { pieces.append(.text(String(plain))) }
        return pieces
    }

    static func isDash(_ separator: String) -> Bool {
        let trimmed = separator.trimmingCharacters(in: .whitespaces)
        return trimmed == "-" || trimmed == "\u{2013}" || trimmed == "\u{2014}"
    }

    /// The marker starting at `start` (a `[`): its parts and the index of its `]`, or nil when the brackets hold
    /// anything but numbers joined by `,`, `;` or a dash (spaces allowed around them).
    private static func marker(in scalars: [Unicode.Scalar], from start: Int) -> ([Part], Int)? {
        var parts: [Part] = []
        var index = start + 1
        var expectNumber = true
        while index < scalars.count, index - start <= 64 {
            let scalar = scalars[index]
            if expectNumber {
                var end = index
                while end < scalars.count, end - index < 5, ("0"..."9").contains(scalars[end]) { end += 1 }
                guard (1...4).contains(end - index), let value = Int(String(String.UnicodeScalarView(scalars[index..<end])))
                else { return nil }
                parts.append(.number(value))
                index = end
                expectNumber = false
            } else if scalar == "]" {
                return (parts, index)
            } else {
                var end = index
                var separator = String.UnicodeScalarView()
                var punctuation = 0
                while end < scalars.count, [" ", ",", ";", "-", "\u{2013}", "\u{2014}"].contains(scalars[end]) {
                    if scalars[end] != " " { punctuation += 1 }
                    separator.append(scalars[end])
                    end += 1
                }
                guard punctuation == 1 else { return nil }
                parts.append(.separator(String(separator)))
                index = end
                expectNumber = true
            }
        }
        return nil
    }
}
