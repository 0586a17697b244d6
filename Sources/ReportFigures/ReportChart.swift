/// A chart drawn from one table of a report: one series of values, with where they came from.
public struct ReportChart: Sendable, Equatable {
    /// What kind of chart the values make.
    public enum Kind: String, Sendable, Equatable {
        /// Levels over time (a market size by year): a line.
        case line
        /// Rates over time (growth in %): vertical bars.
        case bar
        /// Shares of a whole by name: horizontal bars sorted by share.
        case share
    }

    /// One value: a period (`2025E`) or a name (`Acme`) and its number in the chart's unit.
    public struct Point: Sendable, Equatable {
        public var label: String
        public var value: Double
        /// A year after the report's completion, or marked as forecast or estimate.
        public var isForecast: Bool
        /// The "Other" remainder this module added to shares that add up to less than 100 (not in the table).
        public var isRemainder: Bool
        /// The period's place on a time axis (years; nil for shares).
        public var position: Double?

        public init(label: String, value: Double, isForecast: Bool = false, isRemainder: Bool = false, position: Double? = nil) {
            self.label = label
            self.value = value
            self.isForecast = isForecast
            self.isRemainder = isRemainder
            self.position = position
        }
    }

    /// Unique in a report: `table-2-chart-1`.
    public var id: String
    public var kind: Kind
    /// The series' name from the table (`Market size`), without its unit.
    public var title: String
    /// The unit the values are in (`USD bn`, `%`), empty when the table gives none.
    public var unit: String
    /// The table's index among the report's tables (`ReportTable.index`).
    public var tableIndex: Int
    /// The table's anchor in the page (`ReportTable.anchor`).
    public var tableAnchor: String
    /// The heading above the table, if any.
    public var heading: String?
    /// The values in drawing order: periods ascending, shares descending (a remainder last).
    public var points: [Point]
    /// A sentence about how the values were read, when a reader should know (shares adding up to over 100 %).
    public var note: String?

    public init(
        id: String, kind: Kind, title: String, unit: String, tableIndex: Int, tableAnchor: String, heading: String?,
        points: [Point], note: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.title = title
        self.unit = unit
        self.tableIndex = tableIndex
        self.tableAnchor = tableAnchor
        self.heading = heading
        self.points = points
        self.note = note
    }

    /// Whether any value is a forecast.
    public var hasForecast: Bool { points.contains(where: \.isForecast) }

    /// The title with its unit: `Market size (USD bn)`.
    public var titleWithUnit: String { unit.isEmpty ? title : "\(title) (\(unit))" }
}

/// The headline numbers a report states in its tables. Each is optional: only what a table says is shown.
public struct KeyFigures: Sendable, Equatable {
    /// One figure and the table it came from.
    public struct Figure: Sendable, Equatable {
        /// The number in `unit`.
        public var value: Double
        /// `USD bn`, `%`, or empty.
        public var unit: String
        /// The year the figure is for (a CAGR: the last year of its span, when stated).
        public var year: Int?
        /// The label the table gives it (`Market size (USD bn)`, `CAGR 2025–2030`).
        public var label: String
        public var tableIndex: Int
        public var tableAnchor: String

        public init(value: Double, unit: String, year: Int?, label: String, tableIndex: Int, tableAnchor: String) {
            self.value = value
            self.unit = unit
            self.year = year
            self.label = label
            self.tableIndex = tableIndex
            self.tableAnchor = tableAnchor
        }

        /// The value with its unit as a person reads it: `USD 49.1 bn`, `9.2%`.
        public var displayValue: String { NumberText.withUnit(value, unit: unit) }
    }

    /// The latest market size that is not a forecast.
    public var currentSize: Figure?
    /// The furthest forecast market size.
    public var forecastSize: Figure?
    /// The compound annual growth rate the report states.
    public var cagr: Figure?

    public init(currentSize: Figure? = nil, forecastSize: Figure? = nil, cagr: Figure? = nil) {
        self.currentSize = currentSize
        self.forecastSize = forecastSize
        self.cagr = cagr
    }

    /// Whether the report states none of them.
    public var isEmpty: Bool { currentSize == nil && forecastSize == nil && cagr == nil }
}

/// Numbers as text for labels and descriptions: no more decimals than help (`49.1`, `1,250`, `0.35`).
public enum NumberText {
    public static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        let decimals = magnitude >= 1000 ? 0 : magnitude >= 10 ? 1 : 2
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if text == "-0" { text = "0" }
        if magnitude >= 10000 {
            // Thousands separators for large numbers, so 12500 reads as 12,500.
            let negative = text.hasPrefix("-")
            let digits = Array(negative ? text.dropFirst() : Substring(text))
            var grouped = ""
            for (i, d) in digits.enumerated() {
                if i > 0 && (digits.count - i) % 3 == 0 { grouped.append(",") }
                grouped.append(d)
            }
            text = (negative ? "-" : "") + grouped
        }
        return text
    }

    /// `USD 49.1 bn`, `9.2%`, `49.1 bn`, `49.1`, `12 units`.
    public static func withUnit(_ value: Double, unit: String) -> String {
        let number = format(value)
        if unit.isEmpty { return number }
        if unit == "%" { return number + "%" }
        let parts = unit.split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].count == 3, parts[0].allSatisfy(\.isUppercase) {
            return "\(parts[0]) \(number) \(parts[1])"
        }
        if unit.count == 3, unit.allSatisfy(\.isUppercase) { return "\(unit) \(number)" }
        return "\(number) \(unit)"
    }
}
