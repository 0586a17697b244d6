import Foundation

/// Finds the headline numbers in tables: market size from a size-by-period chart (or a `Market size 2024 |
/// USD 41 bn` row), CAGR from a column or row labelled CAGR. Nothing is computed: a figure the tables do not
/// state is absent.
enum KeyFigureReader {
    static func figures(tables: [ReportTable], charts: [ReportChart], completedAt: Date?) -> KeyFigures {
        var figures = KeyFigures()
        if let sizeChart = charts.first(where: isMarketSize) {
            let actual = sizeChart.points.filter { !$0.isForecast }
            let forecast = sizeChart.points.filter(\.isForecast)
            figures.currentSize = actual.last.map { figure($0, chart: sizeChart) }
            figures.forecastSize = forecast.last.map { figure($0, chart: sizeChart) }
        } else {
            (figures.currentSize, figures.forecastSize) = labelledSizes(tables: tables, completedAt: completedAt)
        }
        figures.cagr = cagr(in: tables)
        return figures
    }

    static let sizeWords = ["market size", "market value", "size", "market revenue", "total market", "market"]

    /// A time series of amounts named like a market size (by its own name, or the heading above its table).
    static func isMarketSize(_ chart: ReportChart) -> Bool {
        guard chart.kind == .line, chart.unit != "%" else { return false }
        let title = chart.title.lowercased()
        if sizeWords.contains(where: title.contains) { return true }
        let heading = chart.heading?.lowercased() ?? ""
        return heading.contains("market size") && ["value", "revenue", "sales", "total"].contains(where: title.contains)
    }

    static func figure(_ point: ReportChart.Point, chart: ReportChart) -> KeyFigures.Figure {
        KeyFigures.Figure(
            value: point.value, unit: chart.unit, year: point.position.map { Int($0) },
            label: chart.title, tableIndex: chart.tableIndex, tableAnchor: chart.tableAnchor)
    }

    /// Rows such as `Market size 2024 | USD 41.2 bn` and `Market size 2030 (forecast) | USD 80 bn`.
    static func labelledSizes(tables: [ReportTable], completedAt: Date?) -> (KeyFigures.Figure?, KeyFigures.Figure?) {
        var current: KeyFigures.Figure?
        var forecast: KeyFigures.Figure?
        for table in tables where table.header.count >= 2 {
            for row in [table.header] + table.rows {
                let label = row[0]
                guard sizeWords.prefix(3).contains(where: label.lowercased().contains), let year = year(in: label),
                    let (value, unit) = firstAmount(in: Array(row.dropFirst()), label: label)
                else { continue }
                let isForecast = PeriodLabel.forecastWords.contains(where: { word in
                    word.count > 2 && label.lowercased().contains(word)
                }) || (completedAt.map { PeriodLabel(year: year, part: 0, granularity: .year, markedForecast: false).isAfter($0) } ?? false)
                let found = KeyFigures.Figure(
                    value: value, unit: unit, year: year, label: ColumnUnit.split(label).name, tableIndex: table.index,
                    tableAnchor: table.anchor)
                if isForecast {
                    if forecast == nil || (forecast?.year ?? 0) < year { forecast = found }
                } else if current == nil || (current?.year ?? 0) < year {
                    current = found
                }
            }
        }
        return (current, forecast)
    }

    /// The first CAGR a table states: a `CAGR` column's first percentage, or a `CAGR` row's.
    static func cagr(in tables: [ReportTable]) -> KeyFigures.Figure? {
        for table in tables {
            for (column, header) in table.header.enumerated() where header.lowercased().contains("cagr") {
                let unit = ColumnUnit.split(header).unit
                for cell in table.column(column) {
                    if case .number(let value) = CellNumber.parse(cell), value.percent || unit.percent {
                        return cagrFigure(value.value, label: header, table: table)
                    }
                }
            }
            for row in table.rows {
                guard let labelColumn = row.firstIndex(where: { $0.lowercased().contains("cagr") }) else { continue }
                let unit = ColumnUnit.split(row[labelColumn]).unit
                for cell in row[(labelColumn + 1)...] {
                    if case .number(let value) = CellNumber.parse(cell), value.percent || unit.percent {
                        return cagrFigure(value.value, label: row[labelColumn], table: table)
                    }
                }
            }
        }
        return nil
    }

    static func cagrFigure(_ value: Double, label: String, table: ReportTable) -> KeyFigures.Figure {
        let name = ColumnUnit.split(label).name
        return KeyFigures.Figure(
            value: value, unit: "%", year: years(in: name).last, label: name.isEmpty ? "CAGR" : name,
            tableIndex: table.index, tableAnchor: table.anchor)
    }

    /// The amount in the first cell that holds one, with its unit (from the cell or the row's label).
    static func firstAmount(in cells: [String], label: String) -> (Double, String)? {
        let labelUnit = ColumnUnit.split(label).unit
        for cell in cells {
            guard case .number(let value) = CellNumber.parse(cell), !value.percent else { continue }
            var unit = labelUnit
            if let currency = value.currency { unit.currency = currency }
            if let scale = value.scale { unit.scale = scale }
            return (value.value, unit.display)
        }
        return nil
    }

    static func year(in text: String) -> Int? { years(in: text).first }

    /// Four-digit years 1900–2100 in `text`, in order.
    static func years(in text: String) -> [Int] {
        var found: [Int] = []
        var digits = ""
        for ch in text + " " {
            if ch.isASCII && ch.isNumber {
                digits.append(ch)
            } else {
                if digits.count == 4, let y = Int(digits), (1900...2100).contains(y) { found.append(y) }
                digits = ""
            }
        }
        return found
    }
}
