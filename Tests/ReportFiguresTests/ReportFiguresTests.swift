import Foundation
import Testing
@testable import ReportFigures

/// 2025-06-15 UTC: years after 2025 are forecasts unless a table says otherwise.
let completed = Date(timeIntervalSince1970: 1_749_945_600)

func values(_ chart: ReportChart) -> [Double] { chart.points.map { ($0.value * 1000).rounded() / 1000 } }
func labels(_ chart: ReportChart) -> [String] { chart.points.map(\.label) }
func forecasts(_ chart: ReportChart) -> [Bool] { chart.points.map(\.isForecast) }

@Suite("Report tables")
struct ReportTableTests {
    @Test func findsTablesWithHeadingsAndAnchorsSkippingCode() {
        let md = """
            # Title

            ## Market Size

            Intro text.

            | Year | Size |
            |---|---:|
            | 2024 | 1 |
            | 2025 | 2 |

            ```
            | not | a table |
            |---|---|
            | 1 | 2 |
            ```

            ### Players *by share*
            Name | Share
            :-- | --:
            **Acme** [1] | 40%
            Beta \\| Co | 30 %
            """
        let tables = ReportFigures.tables(inMarkdown: md)
        #expect(tables.count == 2)
        #expect(tables[0].index == 0 && tables[0].anchor == "table-1" && tables[0].heading == "Market Size")
        #expect(tables[0].header == ["Year", "Size"])
        #expect(tables[0].rows == [["2024", "1"], ["2025", "2"]])
        #expect(tables[1].heading == "Players by share" && tables[1].anchor == "table-2")
        #expect(tables[1].rows == [["Acme [1]", "40%"], ["Beta | Co", "30 %"]])
    }

    @Test func shortRowsArePaddedAndLongOnesCut() {
        let tables = ReportFigures.tables(inMarkdown: "| a | b |\n|---|---|\n| 1 |\n| 1 | 2 | 3 |\n")
        #expect(tables.first?.rows == [["1", ""], ["1", "2"]])
    }

    @Test func delimiterWidthMustMatchHeader() {
        #expect(ReportFigures.tables(inMarkdown: "| a | b |\n|---|\n| 1 | 2 |\n").isEmpty)
    }
}

@Suite("Cell numbers")
struct CellNumberTests {
    @Test(arguments: [
        ("1,234.5", 1234.5), ("12.3%", 12.3), ("$4.2B", 4.2), ("~15", 15), ("12.3 [1]", 12.3), ("7.5^2", 7.5),
        ("**41.2**", 41.2), ("USD 3.1 bn", 3.1), ("+4.0 %", 4.0), ("−2.5", -2.5), ("€900M", 900), ("approx. 12", 12),
        ("12¹", 12), ("3.4[^a]", 3.4), ("0.5", 0.5), ("1,000,000", 1_000_000), ("45 USD", 45),
    ])
    func parses(cell: String, expected: Double) {
        guard case .number(let value) = CellNumber.parse(cell) else {
            Issue.record("\(cell) not parsed")
            return
        }
        #expect(abs(value.value - expected) < 1e-9)
    }

    @Test(arguments: ["n/a", "N/A", "—", "-", "", "n.a.", "TBD"])
    func missing(cell: String) { #expect(CellNumber.parse(cell) == .missing) }

    @Test(arguments: ["10-12", ">50", "12 units", "1.234,5", "12,5", "about half", "2024/25", "1,23", "12.3% yoy", "x"])
    func invalid(cell: String) { #expect(CellNumber.parse(cell) == .invalid) }

    @Test func unitsFromCells() {
        #expect(CellNumber.parse("$4.2B") == .number(.init(value: 4.2, currency: "USD", scale: 1e9)))
        #expect(CellNumber.parse("12.3%") == .number(.init(value: 12.3, percent: true)))
    }
}

@Suite("Time-series charts")
struct TimeSeriesChartTests {
    @Test func yearsAsRowsWithUnitInHeaderAndForecastsByDate() {
        let md = """
            ## Market Size
            | Year | Market size (USD bn) | Growth (%) |
            |---|---:|---:|
            | 2023 | 41.2 | n/a |
            | 2024 | 45.0 | 9.2 |
            | 2025 | 49.1 | 9.1 |
            | 2026 | 53.6 | 9.2 |
            | 2027 | 58.5 | 9.1 |
            """
        let charts = ReportFigures.charts(inMarkdown: md, completedAt: completed)
        #expect(charts.count == 2)
        let size = charts[0]
        #expect(size.kind == .line && size.title == "Market size" && size.unit == "USD bn")
        #expect(size.tableIndex == 0 && size.tableAnchor == "table-1" && size.id == "table-1-chart-1")
        #expect(values(size) == [41.2, 45, 49.1, 53.6, 58.5])
        #expect(forecasts(size) == [false, false, false, true, true])
        let growth = charts[1]
        #expect(growth.kind == .bar && growth.unit == "%" && growth.title == "Growth")
        #expect(labels(growth) == ["2024", "2025", "2026", "2027"] && values(growth) == [9.2, 9.1, 9.2, 9.1])
    }

    @Test func yearsAsColumnsWithMarkedForecastsAndUnitsInCells() {
        let md = """
            | Segment | 2022 | 2023 | 2024E | 2025F |
            |---|---|---|---|---|
            | Hardware | $1.2B | $1.4B | $1.6B | $1.9B |
            | Software | $900M | $1.1B | $1.3B | $1.6B |
            | CAGR 2022–2025 | | | | 16% |
            """
        let charts = ReportFigures.charts(inMarkdown: md, completedAt: nil)
        #expect(charts.map(\.title) == ["Hardware", "Software"])
        #expect(charts.allSatisfy { $0.unit == "USD bn" && $0.kind == .line })
        #expect(values(charts[1]) == [0.9, 1.1, 1.3, 1.6])
        #expect(forecasts(charts[0]) == [false, false, true, true])
        #expect(labels(charts[0]) == ["2022", "2023", "2024E", "2025F"])
    }

    @Test func rowsOutOfOrderAreSortedAndQuartersWork() {
        let md = """
            | Quarter | Revenue, $M |
            |---|---|
            | Q3 2025 | 30 |
            | Q1 2025 | 10 |
            | Q2 2025 | 20 |
            | Q4 2025 | 40 |
            """
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed).first
        #expect(chart.map(labels) == ["Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025"])
        #expect(chart?.unit == "USD m")
        #expect(chart.map(forecasts) == [false, false, true, true])
    }

    @Test func stateColumnMarksForecastsMixedWithDates() {
        let md = """
            | Year | Type | Units sold (units) |
            |---|---|---|
            | 2024 | Actual | 1,200 |
            | 2025 | Estimate | 1,350 |
            | 2026 | Forecast | 1,500 |
            """
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed).first
        #expect(chart?.unit == "units" && chart.map(values) == [1200, 1350, 1500])
        #expect(chart.map(forecasts) == [false, true, true])
    }

    @Test func yearsAsRowsWithUnitsInCellsAndForecastWords() {
        let md = """
            | Period | Revenue |
            |---|---|
            | FY2024 | USD 1,234.5 m |
            | FY2025 | ~USD 1,400 m |
            | FY2026 (forecast) | USD 1.6 bn |
            """
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: nil).first
        // Cells in millions and billions are brought to one scale (the largest the cells name).
        #expect(chart?.unit == "USD bn" && chart.map(values) == [1.235, 1.4, 1.6])
        #expect(chart.map(forecasts) == [false, false, true])
    }

    @Test func malformedColumnGetsNoChartButItsNeighbourDoes() {
        let md = """
            | Year | Size (USD bn) | Range (USD bn) |
            |---|---|---|
            | 2024 | 10 | 9-11 |
            | 2025 | 12 | 11-13 |
            """
        let charts = ReportFigures.charts(inMarkdown: md, completedAt: completed)
        #expect(charts.map(\.title) == ["Size"])
    }

    @Test func mixedScalesWithoutHeaderUnitGetNoChart() {
        let md = "| Year | Value |\n|---|---|\n| 2024 | 1.2 |\n| 2025 | $1.4B |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }

    @Test func mixedPercentAndAmountGetNoChart() {
        let md = "| Year | Value |\n|---|---|\n| 2024 | 12% |\n| 2025 | 14 |\n| 2026 | USD 3 |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }

    @Test func oneValueIsNoSeries() {
        let md = "| Year | Value (USD bn) |\n|---|---|\n| 2024 | 12 |\n| 2025 | n/a |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }

    @Test func duplicateYearsGetNoChart() {
        let md = "| Year | Value (USD bn) |\n|---|---|\n| 2024 | 12 |\n| 2024 | 13 |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }

    @Test func textTableGetsNoChart() {
        let md = "| Risk | Impact |\n|---|---|\n| Regulation | High |\n| Supply | Medium |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }
}

@Suite("Share charts")
struct ShareChartTests {
    @Test func sharesUnder100GetOtherAndAreSorted() {
        let md = """
            ## Competitive Landscape
            | Rank | Company | Est. share (%) | Headquarters |
            |---:|---|---:|---|
            | 1 | Beta | 20.0 | Paris |
            | 2 | Acme | 40.5 | Berlin |
            | 3 | Gamma | 37.5 | Tokyo |
            """
        let charts = ReportFigures.charts(inMarkdown: md, completedAt: completed)
        #expect(charts.count == 1)
        let chart = charts[0]
        #expect(chart.kind == .share && chart.unit == "%" && chart.title == "Est. share")
        #expect(labels(chart) == ["Acme", "Gamma", "Beta", "Other"])
        #expect(values(chart) == [40.5, 37.5, 20, 2])
        #expect(chart.points.last?.isRemainder == true && chart.note == nil)
    }

    @Test func sharesSummingTo98GetAnOtherOf2() {
        let md = "| Brand | Market share |\n|---|---|\n| A | 50% |\n| B | 30 % |\n| C | 18%[2] |\n"
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed).first
        #expect(chart.map(labels) == ["A", "B", "C", "Other"] && chart.map(values) == [50, 30, 18, 2])
    }

    @Test func sharesSummingTo103GetNoOther() {
        let md = "| Brand | Market share (%) |\n|---|---|\n| A | 50 |\n| B | 33 |\n| C | 20 |\n"
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed).first
        #expect(chart.map(labels) == ["A", "B", "C"] && chart?.note?.contains("103%") == true)
    }

    @Test func sharesOver102GetNoOtherAndANote() {
        let md = "| Vendor | Share |\n|---|---|\n| A | 55% |\n| B | 48% |\n"
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed).first
        #expect(chart.map(labels) == ["A", "B"])
        #expect(chart?.note?.contains("103%") == true)
    }

    @Test func sharesRoundingTo101GetNeitherOtherNorNote() {
        let md = "| Vendor | Share |\n|---|---|\n| A | 50.6% |\n| B | 50.4% |\n"
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed).first
        #expect(chart.map(labels) == ["A", "B"] && chart?.note == nil)
    }

    @Test func statedOthersAndTotalsAreKeptApart() {
        let md = "| Vendor | Share |\n|---|---|\n| Others | 30% |\n| A | 20% |\n| B | 50% |\n| Total | 100% |\n"
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed).first
        #expect(chart.map(labels) == ["B", "A", "Others"])
        #expect(chart?.points.contains(where: \.isRemainder) == false)
    }

    @Test func growthPercentagesAreNoShares() {
        let md = "| Segment | Growth (%) |\n|---|---|\n| A | 12 |\n| B | 8 |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }

    @Test func shareOver100GetsNoChart() {
        let md = "| Vendor | Share |\n|---|---|\n| A | 120% |\n| B | 8% |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }

    @Test func malformedShareGetsNoChart() {
        let md = "| Vendor | Share |\n|---|---|\n| A | 20-25% |\n| B | 8% |\n"
        #expect(ReportFigures.charts(inMarkdown: md, completedAt: completed).isEmpty)
    }
}

@Suite("Key figures")
struct KeyFigureTests {
    @Test func fromSizeTableAndCagrRow() {
        let md = """
            ## Market Size
            | Year | Market size (USD bn) |
            |---|---:|
            | 2024 | 45.0 |
            | 2025 | 49.1 |
            | 2030F | 80.2 |

            ## Key metrics
            | Metric | Value |
            |---|---|
            | CAGR 2025–2030 | 10.3% |
            """
        let figures = ReportFigures.keyFigures(inMarkdown: md, completedAt: completed)
        #expect(figures.currentSize?.value == 49.1 && figures.currentSize?.year == 2025)
        #expect(figures.currentSize?.unit == "USD bn" && figures.currentSize?.tableAnchor == "table-1")
        #expect(figures.currentSize?.displayValue == "USD 49.1 bn")
        #expect(figures.forecastSize?.value == 80.2 && figures.forecastSize?.year == 2030)
        #expect(figures.cagr?.value == 10.3 && figures.cagr?.tableAnchor == "table-2" && figures.cagr?.year == 2030)
        #expect(figures.cagr?.label == "CAGR 2025–2030")
    }

    @Test func fromLabelledRows() {
        let md = """
            | Metric | Value |
            |---|---|
            | Market size 2024 | USD 12.5 bn |
            | Market size 2031 (forecast) | USD 20 bn |
            """
        let figures = ReportFigures.keyFigures(inMarkdown: md, completedAt: completed)
        #expect(figures.currentSize?.value == 12.5 && figures.currentSize?.year == 2024 && figures.currentSize?.unit == "USD bn")
        #expect(figures.forecastSize?.year == 2031 && figures.cagr == nil)
    }

    @Test func cagrColumn() {
        let md = "| Segment | 2024 | 2030 | CAGR (%) |\n|---|---|---|---|\n| A | 1 | 2 | 12.2 |\n"
        #expect(ReportFigures.keyFigures(inMarkdown: md, completedAt: completed).cagr?.value == 12.2)
    }

    @Test func noneWhenNotStated() {
        let md = "| Company | Share |\n|---|---|\n| A | 40% |\n| B | 30% |\n"
        #expect(ReportFigures.keyFigures(inMarkdown: md, completedAt: completed).isEmpty)
    }
}

@Suite("Chart SVG")
struct ChartSVGTests {
    static let hostile = """
        ## <script>alert(1)</script>
        | Year | Size "x" <b>(USD bn)</b> |
        |---|---|
        | 2024 | 1 |
        | 2025 | 2 |

        | Name | Share |
        |---|---|
        | <img src=x onerror=alert(1)> & co | 40% |
        | B' | 30% |
        """

    @Test func escapesEverythingFromTheReport() {
        for chart in ReportFigures.charts(inMarkdown: Self.hostile, completedAt: completed) {
            let svg = ChartSVG.render(chart)
            #expect(!svg.contains("<script") && !svg.contains("<img") && !svg.contains("<b>"))
            #expect(svg.hasPrefix("<svg ") && svg.hasSuffix("</svg>"))
            #expect(!svg.contains("style="))
        }
    }

    @Test func hasRoleTitleAndDescriptionWithEveryValue() {
        let md = "## Size\n| Year | Market size (USD bn) |\n|---|---|\n| 2024 | 45 |\n| 2026 | 53.6 |\n"
        let chart = ReportFigures.charts(inMarkdown: md, completedAt: completed)[0]
        let svg = ChartSVG.render(chart)
        #expect(svg.contains("role=\"img\""))
        #expect(svg.contains("<title id=\"table-1-chart-1-title\">Market size (USD bn)</title>"))
        #expect(svg.contains("2024 USD 45 bn; 2026 USD 53.6 bn (forecast)."))
        #expect(svg.contains("chart-line--forecast"))
    }

    @Test func overlayIsDrawnDistinctlyWithLegend() {
        let a = ReportFigures.charts(inMarkdown: "| Year | Size (USD bn) |\n|---|---|\n| 2024 | 45 |\n| 2025 | 50 |\n", completedAt: completed)[0]
        let b = ReportFigures.charts(inMarkdown: "| Year | Size (USD bn) |\n|---|---|\n| 2024 | 44 |\n| 2025 | 47 |\n", completedAt: completed)[0]
        let svg = ChartSVG.render(a, overlay: b, legend: .init(primary: "Version 2", overlay: "Version 1 <old>"))
        #expect(svg.contains("chart-line--overlay") && svg.contains("chart-line--primary"))
        #expect(svg.contains("Version 2") && svg.contains("Version 1 &lt;old&gt;"))
        #expect(svg.contains("2025 USD 47 bn"))
        let share = ReportFigures.charts(inMarkdown: "| N | Share |\n|---|---|\n| A | 40% |\n| B | 30% |\n", completedAt: nil)[0]
        #expect(ChartSVG.render(share, overlay: share).contains("chart-bar--overlay"))
    }

    @Test func numberText() {
        #expect(NumberText.format(49.1) == "49.1" && NumberText.format(45.0) == "45" && NumberText.format(12500) == "12,500")
        #expect(NumberText.withUnit(9.2, unit: "%") == "9.2%" && NumberText.withUnit(3, unit: "units") == "3 units")
    }
}
