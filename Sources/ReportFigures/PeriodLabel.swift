import Foundation

/// A time period named in a table: `2024`, `FY2024`, `2025E`, `2026F`, `2027 (forecast)`, `Q3 2024`, `2024 Q3`,
/// `H1 2025`. Anything else (`2024-25`, `Spring`, `1999` as a count) is not a period.
struct PeriodLabel: Equatable {
    enum Granularity: Equatable { case year, half, quarter }

    var year: Int
    /// 0 for a year, 1–2 for halves, 1–4 for quarters.
    var part: Int
    var granularity: Granularity
    /// Whether the label itself says forecast or estimate (`E`, `F`, `P`, "forecast", "projected").
    var markedForecast: Bool

    /// The period's position on a time axis, in years (`Q3 2024` → 2024.5).
    var position: Double {
        switch granularity {
        case .year: Double(year)
        case .half: Double(year) + Double(part - 1) / 2
        case .quarter: Double(year) + Double(part - 1) / 4
        }
    }

    static let forecastWords: Set<String> = [
        "e", "f", "p", "est", "est.", "estimate", "estimated", "forecast", "fcst", "fc", "proj", "proj.", "projected",
        "projection", "expected", "outlook", "target",
    ]

    static func parse(_ text: String) -> PeriodLabel? {
        var s = CellNumber.clean(text)
        for ch in ["(", ")", ",", ":"] { s = s.replacingOccurrences(of: ch, with: " ") }
        var tokens = s.split(separator: " ").map(String.init)
        guard !tokens.isEmpty, tokens.count <= 4 else { return nil }
        var marked = false
        tokens = tokens.filter { token in
            if forecastWords.contains(token) { marked = true; return false }
            return true
        }
        // Glued forms: `fy2024`, `2025e`, `q3`, `h1`, `2024q3`.
        var year: Int?
        var part = 0
        var granularity = Granularity.year
        for var token in tokens {
            if token.hasPrefix("fy") && token.count > 2 { token.removeFirst(2) } else if token == "fy" { continue }
            if token.hasPrefix("'") { return nil }
            if token.count == 5, let last = token.last, "efp".contains(last), let y = Int(token.prefix(4)) {
                marked = true
                token = String(y)
            }
            if token.count == 6, let y = Int(token.prefix(4)), let q = quarterOrHalf(String(token.dropFirst(4))) {
                guard year == nil, part == 0 else { return nil }
                year = y
                (part, granularity) = q
                continue
            }
            if let q = quarterOrHalf(token) {
                guard part == 0 else { return nil }
                (part, granularity) = q
                continue
            }
            guard token.count == 4, token.allSatisfy({ $0.isASCII && $0.isNumber }), let y = Int(token), year == nil else {
                return nil
            }
            year = y
        }
        guard let year, (1900...2100).contains(year) else { return nil }
        return PeriodLabel(year: year, part: part, granularity: granularity, markedForecast: marked)
    }

    private static func quarterOrHalf(_ token: String) -> (Int, Granularity)? {
        guard token.count == 2, let n = Int(token.dropFirst()) else { return nil }
        if token.hasPrefix("q"), (1...4).contains(n) { return (n, .quarter) }
        if token.hasPrefix("h"), (1...2).contains(n) { return (n, .half) }
        return nil
    }

    /// Whether the period lies after the one holding `date` (UTC), i.e. could not have been observed by then.
    func isAfter(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month], from: date)
        let y = c.year ?? 0, month = c.month ?? 1
        if year != y { return year > y }
        switch granularity {
        case .year: return false
        case .half: return part > (month - 1) / 6 + 1
        case .quarter: return part > (month - 1) / 3 + 1
        }
    }
}
