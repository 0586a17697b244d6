import Foundation

/// A number read from a table cell: `1,234.5`, `12.3%`, `$4.2B`, `~15`, `USD 3.1 bn`, `+4.0 %`, with footnote
/// markers (`[1]`, `[^2]`, `^2`, `¹`) and emphasis ignored. Anything else that is not a clearly missing value
/// (`n/a`, `—`) is `.invalid`, so a column holding it is not charted: a guessed number would be a wrong chart.
enum CellNumber: Equatable {
    /// No value stated (`n/a`, `-`, empty): a gap, not an error.
    case missing
    /// A value with what the cell said about its unit.
    case number(Value)
    /// Text that is not one plain number (a range, `>50`, `12 units`, `1.234,5`).
    case invalid

    struct Value: Equatable {
        var value: Double
        var percent = false
        /// ISO code (`USD`) when the cell names a currency.
        var currency: String?
        /// 1e3, 1e6, 1e9 or 1e12 when the cell names a magnitude (`bn`, `M`).
        var scale: Double?
    }

    static let missingWords: Set<String> = [
        "", "n/a", "na", "n.a.", "n.a", "-", "–", "—", "?", "tbd", "n/d", "nd", "not available", "...", "…", "none",
        "not disclosed", "undisclosed", "unknown",
    ]
    static let approximatePrefixes = ["approx.", "approx", "about", "around", "circa", "ca.", "c.", "est.", "~", "≈", "±"]
    static let currencyPrefixes: [(String, String)] = [
        ("us$", "USD"), ("usd", "USD"), ("a$", "AUD"), ("c$", "CAD"), ("$", "USD"), ("€", "EUR"), ("eur", "EUR"),
        ("£", "GBP"), ("gbp", "GBP"), ("¥", "JPY"), ("jpy", "JPY"), ("cny", "CNY"), ("rmb", "CNY"), ("₹", "INR"),
        ("inr", "INR"), ("chf", "CHF"), ("cad", "CAD"), ("aud", "AUD"),
    ]
    static let scaleWords: [(String, Double)] = [
        ("trillion", 1e12), ("tn", 1e12), ("billion", 1e9), ("bn", 1e9), ("bil", 1e9), ("b", 1e9),
        ("million", 1e6), ("mn", 1e6), ("mm", 1e6), ("mil", 1e6), ("m", 1e6), ("thousand", 1e3), ("k", 1e3),
    ]

    static func parse(_ cell: String) -> CellNumber {
        var s = clean(cell)
        if missingWords.contains(s) { return .missing }
        for prefix in approximatePrefixes where s.hasPrefix(prefix) {
            s = String(s.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
            break
        }
        var negative = false
        if let first = s.first, first == "+" || first == "-" || first == "−" {
            negative = first != "+"
            s = String(s.dropFirst()).trimmingCharacters(in: .whitespaces)
        }
        var currency: String?
        for (prefix, code) in currencyPrefixes where s.hasPrefix(prefix) {
            currency = code
            s = String(s.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
            break
        }
        if !negative, let first = s.first, first == "-" || first == "−" {
            negative = true
            s = String(s.dropFirst())
        }
        guard let (number, rest) = leadingNumber(s) else { return .invalid }
        var value = Value(value: negative ? -number : number, currency: currency)
        var tail = rest.trimmingCharacters(in: .whitespaces)
        if tail.hasPrefix("%") || tail.hasPrefix("pct") || tail.hasPrefix("percent") || tail.hasPrefix("pp") {
            value.percent = true
            for word in ["percent", "pct", "pp", "%"] where tail.hasPrefix(word) {
                tail = String(tail.dropFirst(word.count)).trimmingCharacters(in: .whitespaces)
                break
            }
            return tail.isEmpty && currency == nil ? .number(value) : .invalid
        }
        for (word, scale) in scaleWords where tail.hasPrefix(word) {
            let after = tail.dropFirst(word.count)
            guard after.first.map({ !$0.isLetter }) ?? true else { continue }
            value.scale = scale
            tail = after.trimmingCharacters(in: .whitespaces)
            break
        }
        if !tail.isEmpty {
            guard currency == nil, let code = currencyPrefixes.first(where: { $0.0 == tail && $0.0.count == 3 })?.1 else {
                return .invalid
            }
            value.currency = code
        }
        return .number(value)
    }

    /// The cell lower-cased, footnote markers and emphasis removed, spaces normalised.
    static func clean(_ cell: String) -> String {
        var s = cell.lowercased()
            .replacingOccurrences(of: "\u{00A0}", with: " ").replacingOccurrences(of: "\u{202F}", with: " ")
            .replacingOccurrences(of: "\u{2009}", with: " ")
        s.removeAll { "*_`†‡§¹²³⁴⁵⁶⁷⁸⁹⁰".contains($0) }
        // `[1]`, `[^2]`, `[a]`: footnote or citation markers, anywhere in the cell.
        while let open = s.firstIndex(of: "["), let close = s[open...].firstIndex(of: "]"),
            s.distance(from: open, to: close) <= 5
        {
            s.removeSubrange(open...close)
        }
        // `^2` at the end.
        if let caret = s.lastIndex(of: "^"), s[s.index(after: caret)...].allSatisfy({ $0.isNumber || $0.isLetter }) {
            s.removeSubrange(caret...)
        }
        return s.trimmingCharacters(in: .whitespaces)
    }

    /// A plain decimal at the start of `s`: digits with optional thousands commas in groups of three and an
    /// optional fraction. `1.234,5` and `12,5` are refused (which separator is which cannot be known).
    static func leadingNumber(_ s: String) -> (Double, Substring)? {
        var digits = ""
        var rest = Substring(s)
        var sawDot = false
        var groupLength = -1  // digits since the last comma; -1 before any comma
        var sawDigit = false
        while let ch = rest.first {
            if ch.isASCII && ch.isNumber {
                digits.append(ch)
                sawDigit = true
                if groupLength >= 0 && !sawDot { groupLength += 1 }
            } else if ch == "," && !sawDot && sawDigit {
                if groupLength >= 0 && groupLength != 3 { return nil }
                if groupLength < 0 && digits.count > 3 { return nil }
                groupLength = 0
            } else if ch == "." && !sawDot {
                guard rest.dropFirst().first.map({ $0.isASCII && $0.isNumber }) ?? false else { break }
                if groupLength >= 0 && groupLength != 3 { return nil }
                sawDot = true
                digits.append(ch)
            } else {
                break
            }
            rest = rest.dropFirst()
        }
        if groupLength >= 0 && groupLength != 3 && !sawDot { return nil }
        guard sawDigit, let value = Double(digits) else { return nil }
        // A second number glued on (`10-12`, `2024/25`) is a range or a ratio, not a value.
        if let next = rest.first, next == "-" || next == "–" || next == "/" || next == "." || next == "," { return nil }
        return (value, rest)
    }
}
