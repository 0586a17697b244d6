import Foundation

/// What a header (`Market size (USD bn)`) or a column of cells says a number is measured in.
struct ColumnUnit: Equatable {
    var percent = false
    var currency: String?
    /// 1e3, 1e6, 1e9 or 1e12.
    var scale: Double?
    /// A unit named in words that is neither money nor a percentage (`units`, `tonnes`).
    var other: String?

    var isEmpty: Bool { !percent && currency == nil && scale == nil && other == nil }

    /// As charts and key figures show it: `USD bn`, `%`, `bn`, `units`, or empty.
    var display: String {
        if percent { return "%" }
        if let other { return other }
        let scaleText = scale.map { Self.scaleNames[$0] ?? "" } ?? ""
        return [currency ?? "", scaleText].filter { !$0.isEmpty }.joined(separator: " ")
    }

    static let scaleNames: [Double: String] = [1e3: "k", 1e6: "m", 1e9: "bn", 1e12: "tn"]
    static let scaleTokens: [String: Double] = [
        "k": 1e3, "thousand": 1e3, "thousands": 1e3, "'000": 1e3, "000": 1e3, "000s": 1e3,
        "m": 1e6, "mn": 1e6, "mm": 1e6, "mil": 1e6, "million": 1e6, "millions": 1e6,
        "b": 1e9, "bn": 1e9, "bil": 1e9, "billion": 1e9, "billions": 1e9,
        "tn": 1e12, "trillion": 1e12, "trillions": 1e12,
    ]
    static let currencySymbols: [String: String] = ["$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"]
    static let currencyCodes: Set<String> = ["usd", "eur", "gbp", "jpy", "cny", "rmb", "inr", "chf", "cad", "aud"]

    /// Splits a header or row label into its name and unit: `Market size (USD bn)` → (`Market size`, USD bn);
    /// `Revenue, $M` and `Revenue in USD million` likewise. A parenthesis that is no unit (`(2024)`) stays in the name.
    static func split(_ label: String) -> (name: String, unit: ColumnUnit) {
        let text = label.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix(")"), let open = text.lastIndex(of: "(") {
            let inner = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
            if let unit = parse(inner, allowWords: true) {
                return (String(text[..<open]).trimmingCharacters(in: .whitespaces), unit)
            }
        }
        if let comma = text.lastIndex(of: ","), let unit = parse(String(text[text.index(after: comma)...]), allowWords: false) {
            return (String(text[..<comma]).trimmingCharacters(in: .whitespaces), unit)
        }
        if let range = text.range(of: " in ", options: [.caseInsensitive, .backwards]),
            let unit = parse(String(text[range.upperBound...]), allowWords: false)
        {
            return (String(text[..<range.lowerBound]).trimmingCharacters(in: .whitespaces), unit)
        }
        if text.hasSuffix("%") || text.lowercased().hasSuffix(" pct") {
            let name = text.hasSuffix("%") ? text.dropLast() : text.dropLast(4)
            return (name.trimmingCharacters(in: .whitespaces), ColumnUnit(percent: true))
        }
        return (text, ColumnUnit())
    }

    /// `USD bn`, `$M`, `US$ billion`, `€bn`, `%`, `% of total`, `units` (words only when `allowWords`).
    static func parse(_ text: String, allowWords: Bool) -> ColumnUnit? {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        if lower.isEmpty { return nil }
        if lower == "%" || lower.hasPrefix("% ") || lower == "percent" || lower == "pct" { return ColumnUnit(percent: true) }
        var unit = ColumnUnit()
        var rest = lower
        for (symbol, code) in currencySymbols.sorted(by: { $0.key.count > $1.key.count }) where rest.hasPrefix(symbol) {
            unit.currency = code
            rest = String(rest.dropFirst(symbol.count))
            break
        }
        let tokens = rest.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "/" }).map(String.init)
        var recognised = true
        for token in tokens {
            if currencyCodes.contains(token), unit.currency == nil {
                unit.currency = token == "rmb" ? "CNY" : token.uppercased()
            } else if let scale = scaleTokens[token], unit.scale == nil {
                unit.scale = scale
            } else if token.count > 3, currencyCodes.contains(String(token.prefix(3))),
                let scale = scaleTokens[String(token.dropFirst(3))], unit.currency == nil, unit.scale == nil
            {
                unit.currency = String(token.prefix(3)).uppercased()
                unit.scale = scale
            } else {
                recognised = false
            }
        }
        if recognised && !unit.isEmpty { return unit }
        // Words such as `units` or `tonnes`: a unit only in parentheses, with no digits and no forecast word.
        guard allowWords, unit.isEmpty, lower.count <= 20, !lower.contains(where: \.isNumber),
            !PeriodLabel.forecastWords.contains(lower.trimmingCharacters(in: .punctuationCharacters)),
            lower.allSatisfy({ $0.isLetter || $0 == " " || $0 == "." })
        else { return nil }
        return ColumnUnit(other: text.trimmingCharacters(in: .whitespaces))
    }

    /// Reads a column's cells as numbers in one unit, given the unit its header names; nil when the column is
    /// not one honest series: a cell that is no number, fewer than two numbers, mixed percentages and amounts,
    /// two currencies, or a magnitude some cells give and others leave unsaid.
    static func values(of cells: [String], header: ColumnUnit) -> (values: [Double?], unit: ColumnUnit)? {
        var parsed: [CellNumber.Value?] = []
        for cell in cells {
            switch CellNumber.parse(cell) {
            case .invalid: return nil
            case .missing: parsed.append(nil)
            case .number(let value): parsed.append(value)
            }
        }
        let numbers = parsed.compactMap { $0 }
        guard numbers.count >= 2 else { return nil }
        var unit = header
        let percentCells = numbers.filter(\.percent).count
        if percentCells > 0 {
            guard percentCells == numbers.count || header.percent, header.currency == nil, header.scale == nil,
                header.other == nil
            else { return nil }
            unit.percent = true
        }
        if unit.percent {
            guard numbers.allSatisfy({ $0.currency == nil && $0.scale == nil }) else { return nil }
            return (parsed.map { $0?.value }, ColumnUnit(percent: true))
        }
        let currencies = Set(numbers.compactMap(\.currency))
        guard currencies.count <= 1 else { return nil }
        if let cellCurrency = currencies.first {
            guard header.currency == nil || header.currency == cellCurrency, header.other == nil else { return nil }
            unit.currency = cellCurrency
        }
        let cellScales = numbers.map(\.scale)
        let target: Double?
        if let headerScale = header.scale {
            target = headerScale
        } else if cellScales.allSatisfy({ $0 == nil }) {
            target = nil
        } else if cellScales.allSatisfy({ $0 != nil }) {
            target = cellScales.compactMap { $0 }.max()
        } else {
            return nil
        }
        guard header.other == nil || cellScales.allSatisfy({ $0 == nil }) else { return nil }
        unit.scale = target
        let values = parsed.map { value -> Double? in
            guard let value else { return nil }
            guard let target, let scale = value.scale else { return value.value }
            return value.value * scale / target
        }
        return (values, unit)
    }
}
