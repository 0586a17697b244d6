public import Foundation

/// Reads a report's figures from its own Markdown tables: the tables, the charts they honestly make, and the
/// headline numbers (market size now and forecast, CAGR). Pure logic, so the report page, the report API and
/// the compare page of two versions read the same figures the same way.
public enum ReportFigures {
    /// At most this many charts come from one table (a wide table would otherwise bury its own text).
    static let maxChartsPerTable = 4

    /// The report's GFM tables in document order.
    public static func tables(inMarkdown markdown: String) -> [ReportTable] {
        TableScanner.tables(in: markdown)
    }

    /// The charts of every table that makes one, in document order. `completedAt` decides which periods are
    /// forecasts when the table does not mark them (nil: only marked ones are).
    public static func charts(inMarkdown markdown: String, completedAt: Date?) -> [ReportChart] {
        tables(inMarkdown: markdown).flatMap { charts(of: $0, completedAt: completedAt) }
    }

    /// The charts one table makes: a time series per numeric column (or row, when years are the columns), or a
    /// share chart; none when the table is neither or its numbers cannot be read honestly.
    public static func charts(of table: ReportTable, completedAt: Date?) -> [ReportChart] {
        let series: [ReportChart]
        if let time = TimeSeriesReader.charts(of: table, completedAt: completedAt) {
            series = time
        } else {
            series = ShareReader.charts(of: table)
        }
        return series.prefix(maxChartsPerTable).enumerated().map { offset, chart in
            var chart = chart
            chart.id = "\(table.anchor)-chart-\(offset + 1)"
            return chart
        }
    }

    /// The key figures the tables state.
    public static func keyFigures(inMarkdown markdown: String, completedAt: Date?) -> KeyFigures {
        read(markdown, completedAt: completedAt).keyFigures
    }

    /// The key figures of tables already read and charted (a caller that draws the charts reads the tables once).
    public static func keyFigures(tables: [ReportTable], charts: [ReportChart], completedAt: Date?) -> KeyFigures {
        KeyFigureReader.figures(tables: tables, charts: charts, completedAt: completedAt)
    }

    /// Charts and key figures of one report body, from one reading of its tables.
    public struct Reading: Sendable {
        public var charts: [ReportChart]
        public var keyFigures: KeyFigures
    }

    /// Reads `markdown`'s tables once and derives both the charts and the key figures from them.
    public static func read(_ markdown: String, completedAt: Date?) -> Reading {
        let tables = Self.tables(inMarkdown: markdown)
        let charts = tables.flatMap { Self.charts(of: $0, completedAt: completedAt) }
        return Reading(charts: charts, keyFigures: keyFigures(tables: tables, charts: charts, completedAt: completedAt))
    }
}

/// Words that make a row or column a summary of the others rather than one more value.
enum SummaryWords {
    static func isSummary(_ label: String) -> Bool {
        let lower = label.lowercased()
        return ["cagr", "total", "average", "avg", "change", "sum", "mean"].contains { lower.contains($0) }
    }

    static func isRate(_ label: String) -> Bool {
        let lower = label.lowercased()
        return ["growth", "cagr", "change", "yoy", "y/y", "margin", "rate", "increase", "decline", "return", "roi"]
            .contains { lower.contains($0) }
    }

    static let forecastStates: Set<String> = [
        "forecast", "projected", "projection", "estimate", "estimated", "e", "f", "p", "expected",
    ]
    static let actualStates: Set<String> = ["actual", "historical", "historic", "reported", "a", "observed"]
}

/// Tables with a period column (years as rows) or period headers (years as columns).
enum TimeSeriesReader {
    static func charts(of table: ReportTable, completedAt: Date?) -> [ReportChart]? {
        rowCharts(table, completedAt: completedAt) ?? columnCharts(table, completedAt: completedAt)
    }

    /// Periods of a set of labels when they make a time axis: at least two, one granularity, no repeats.
    static func axis(_ labels: [String], allowSummaries: Bool) -> [PeriodLabel?]? {
        var periods: [PeriodLabel?] = []
        for label in labels {
            if let period = PeriodLabel.parse(label) {
                periods.append(period)
            } else if allowSummaries && (SummaryWords.isSummary(label) || label.isEmpty) {
                periods.append(nil)
            } else {
                return nil
            }
        }
        let found = periods.compactMap { $0 }
        guard found.count >= 2, Set(found.map { "\($0.granularity)" }).count == 1,
            Set(found.map(\.position)).count == found.count
        else { return nil }
        return periods
    }

    static func isForecast(_ period: PeriodLabel, completedAt: Date?) -> Bool {
        period.markedForecast || (completedAt.map(period.isAfter) ?? false)
    }

    /// Years as rows: the first column whose cells are all periods.
    static func rowCharts(_ table: ReportTable, completedAt: Date?) -> [ReportChart]? {
        guard table.rows.count >= 2 else { return nil }
        guard let periodColumn = table.header.indices.first(where: { axis(table.column($0), allowSummaries: true) != nil }),
            let periods = axis(table.column(periodColumn), allowSummaries: true)
        else { return nil }
        // A column such as `Type: Actual / Forecast` marks rows, and is no series itself.
        let stateColumn = table.header.indices.first { column in
            column != periodColumn && table.column(column).allSatisfy { cell in
                let lower = CellNumber.clean(cell)
                return lower.isEmpty || SummaryWords.forecastStates.contains(lower) || SummaryWords.actualStates.contains(lower)
            } && table.column(column).contains { !$0.isEmpty }
        }
        var charts: [ReportChart] = []
        for column in table.header.indices where column != periodColumn && column != stateColumn {
            let (name, headerUnit) = ColumnUnit.split(table.header[column])
            let lowerName = name.lowercased()
            if lowerName.contains("cagr") || lowerName == "rank" || lowerName == "#" || lowerName.hasPrefix("no.") { continue }
            let rowIndices = periods.indices.filter { periods[$0] != nil }
            let cells = rowIndices.map { table.rows[$0][column] }
            guard let (values, unit) = ColumnUnit.values(of: cells, header: headerUnit) else { continue }
            let columnForecast = lowerName.contains("forecast") || lowerName.contains("projected")
            var points: [ReportChart.Point] = []
            for (k, row) in rowIndices.enumerated() {
                guard let value = values[k], let period = periods[row] else { continue }
                let state = stateColumn.map { CellNumber.clean(table.rows[row][$0]) } ?? ""
                let forecast = columnForecast || SummaryWords.forecastStates.contains(state)
                    || (!SummaryWords.actualStates.contains(state) && isForecast(period, completedAt: completedAt))
                points.append(.init(label: table.rows[row][periodColumn], value: value, isForecast: forecast, position: period.position))
            }
            guard points.count >= 2 else { continue }
            charts.append(chart(table: table, name: name.isEmpty ? table.header[column] : name, unit: unit, points: points))
        }
        return charts.isEmpty ? nil : charts
    }

    /// Years as columns: the header's cells after the first are periods; each row is a series.
    static func columnCharts(_ table: ReportTable, completedAt: Date?) -> [ReportChart]? {
        let periodColumns = table.header.indices.dropFirst().filter { PeriodLabel.parse(table.header[$0]) != nil }
        guard PeriodLabel.parse(table.header[0]) == nil,
            let periods = axis(periodColumns.map { table.header[$0] }, allowSummaries: false)
        else { return nil }
        let labelUnit = ColumnUnit.split(table.header[0]).unit
        var charts: [ReportChart] = []
        for row in table.rows {
            let (name, rowUnit) = ColumnUnit.split(row[0])
            guard !name.isEmpty, !name.lowercased().contains("cagr") else { continue }
            guard let (values, unit) = ColumnUnit.values(of: periodColumns.map { row[$0] }, header: rowUnit.isEmpty ? labelUnit : rowUnit)
            else { continue }
            var points: [ReportChart.Point] = []
            for (k, column) in periodColumns.enumerated() {
                guard let value = values[k], let period = periods[k] else { continue }
                points.append(.init(label: table.header[column], value: value,
                                    isForecast: isForecast(period, completedAt: completedAt), position: period.position))
            }
            guard points.count >= 2 else { continue }
            charts.append(chart(table: table, name: name, unit: unit, points: points))
        }
        return charts.isEmpty ? nil : charts
    }

    static func chart(table: ReportTable, name: String, unit: ColumnUnit, points: [ReportChart.Point]) -> ReportChart {
        let sorted = points.sorted { ($0.position ?? 0) < ($1.position ?? 0) }
        let kind: ReportChart.Kind = unit.percent || SummaryWords.isRate(name) ? .bar : .line
        return ReportChart(
            id: "", kind: kind, title: name, unit: unit.display, tableIndex: table.index, tableAnchor: table.anchor,
            heading: table.heading, points: sorted)
    }
}

/// Tables of names with a percentage or share column.
enum ShareReader {
    /// Shares adding up to at most this much over 100 are taken as rounding.
    static let roundingSlack = 2.0
    /// A remainder smaller than this is rounding too, and gets no "Other" bar.
    static let smallestRemainder = 0.5

    static func charts(of table: ReportTable) -> [ReportChart] {
        guard table.rows.count >= 2,
            let nameColumn = table.header.indices.first(where: { column in
                let cells = table.column(column).filter { !$0.isEmpty }
                let words = cells.filter { CellNumber.parse($0) == .invalid && PeriodLabel.parse($0) == nil }
                return !cells.isEmpty && words.count * 2 > cells.count
            })
        else { return [] }
        var charts: [ReportChart] = []
        for column in table.header.indices where column != nameColumn {
            let (name, headerUnit) = ColumnUnit.split(table.header[column])
            guard !SummaryWords.isRate(name) else { continue }
            let rows = table.rows.filter { !isTotal($0[nameColumn]) }
            guard let (values, unit) = ColumnUnit.values(of: rows.map { $0[column] }, header: headerUnit) else { continue }
            let saysShare = name.lowercased().contains("share")
            let numbers = values.compactMap { $0 }
            // A unitless `Share` column is read as percentages only when it cannot be fractions of one.
            guard unit.percent || (saysShare && unit.isEmpty && numbers.reduce(0, +) > 1.5) else { continue }
            guard numbers.allSatisfy({ (0...100).contains($0) }) else { continue }
            var points: [ReportChart.Point] = []
            var others: [ReportChart.Point] = []
            for (row, value) in zip(rows, values) {
                guard let value else { continue }
                let label = row[nameColumn]
                if isOther(label) { others.append(.init(label: label, value: value)) } else { points.append(.init(label: label, value: value)) }
            }
            guard points.count + others.count >= 2 else { continue }
            points.sort { $0.value > $1.value }
            let sum = numbers.reduce(0, +)
            var note: String?
            if sum < 100 - smallestRemainder && others.isEmpty {
                points.append(.init(label: "Other", value: 100 - sum, isRemainder: true))
            } else if sum > 100 + roundingSlack {
                // Shares adding up to clearly more than 100 % overlap (a company in two segments, answers that
                // allow several choices) or do not share one whole: each bar still shows what the table says,
                // but there is no remainder to show, and the reader is told why.
                note = "The shares add up to \(NumberText.format(sum))%, more than 100%: they overlap, so no remainder is shown."
            }
            points += others
            charts.append(ReportChart(
                id: "", kind: .share, title: name.isEmpty ? "Share" : name, unit: "%", tableIndex: table.index,
                tableAnchor: table.anchor, heading: table.heading, points: points, note: note))
        }
        return charts
    }

    static func isTotal(_ label: String) -> Bool {
        let lower = CellNumber.clean(label)
        return lower.hasPrefix("total") || ["all", "overall", "sum", "market total", "100%"].contains(lower)
    }

    static func isOther(_ label: String) -> Bool {
        let lower = CellNumber.clean(label)
        return ["other", "others", "rest", "remaining", "all other", "all others"].contains { lower == $0 || lower.hasPrefix($0 + " ") }
    }
}
