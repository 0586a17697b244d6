import Foundation
import Postgres
import Testing
import TestSupport
import Web
@testable import MarketLens

/// A report's charts and key figures on its page, in the report API and the Markdown download.
enum ChartFixtures {
    /// Completed 2025-06-15: 2026 and later are forecasts.
    static let completedAt = Date(timeIntervalSince1970: 1_749_945_600)
    static let content = """
        # Drone delivery Market Research Report

        ## Table 1

        The market grows [1].

        ## Market Size

        | Year | Market size (USD bn) |
        |---|---:|
        | 2024 | 45.0 |
        | 2025 | 49.1 |
        | 2026F | 53.6 |

        | Metric | Value |
        |---|---|
        | CAGR 2025–2030 | 9.2% |

        ## Competitive Landscape

        | Company | Share |
        |---|---|
        | Acme <script>alert(1)</script> | 40% |
        | Beta | 30% |

        ## References

        [1] Drone stats – https://stats.example.org/drones
        """
}

@Suite("Report charts (rendering)")
struct ReportChartsRenderingTests {
    @Test func tablesGetAnchorsAndChartsBesideThem() {
        let rendered = ReportRendering.render(content: ChartFixtures.content, completedAt: ChartFixtures.completedAt)
        let html = rendered.html
        #expect(html.contains(#"<div class="table-figure table-figure--charted" id="table-1"><div class="table-charts"><figure class="chart-figure"><svg "#))
        #expect(html.contains(#"<div class="table-figure" id="table-2"><table>"#), "a table without a chart still gets its anchor")
        #expect(html.contains(#"id="table-3""#))
        #expect(html.components(separatedBy: "role=\"img\"").count == 3)
        #expect(html.contains(#"<h2 id="table-1-2">Table 1</h2>"#) || !html.contains(#"<h2 id="table-1">"#), "headings never take a table's anchor")
        #expect(!html.contains("<script>"))
        #expect(rendered.charts.map(\.tableAnchor) == ["table-1", "table-3"])
        #expect(rendered.keyFigures.currentSize?.value == 49.1 && rendered.keyFigures.forecastSize?.year == 2026)
        #expect(rendered.keyFigures.cagr?.tableAnchor == "table-2")
    }

    @Test func tablesThePageRendersDifferentlyGetNoCharts() {
        // A table inside a quote is rendered by cmark but not read by ReportFigures: no chart rather than a
        // chart beside the wrong table.
        let content = "> | Year | Size (USD bn) |\n> |---|---|\n> | 2024 | 1 |\n> | 2025 | 2 |\n\n| Year | Size (USD bn) |\n|---|---|\n| 2024 | 3 |\n| 2025 | 4 |\n"
        let rendered = ReportRendering.render(content: content, completedAt: ChartFixtures.completedAt)
        #expect(rendered.charts.isEmpty && rendered.keyFigures.isEmpty && !rendered.html.contains("<svg"))
        #expect(rendered.html.contains("<table>"))
    }
}

@Suite(.enabled(if: TestDatabase.isEnabled, "needs TEST_DATABASE_URL"))
struct ReportChartsPageTests {
    @Test func pageApiAndDownloadCarryTheFigures() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try ReaderFixtures.insertCompleted(
                on: connection, content: ChartFixtures.content, basis: nil, completedAt: ChartFixtures.completedAt)
            let app = try ReaderFixtures.app(databaseURL: url)
            let (response, html) = try ReaderFixtures.get(app, "/r/\(report.slug)")
            #expect(response.status == 200)
            #expect(html.contains(#"<section class="key-figures" id="key-figures""#))
            #expect(html.contains(##"<dt>Market size (2025)</dt><dd><a href="#table-1" title="From the table: Market size">USD 49.1 bn</a></dd>"##))
            #expect(html.contains(##"<dt>Forecast (2026)</dt><dd><a href="#table-1""##))
            #expect(html.contains(##"<dt>CAGR 2025–2030</dt><dd><a href="#table-2" title="From the table: CAGR 2025–2030">9.2%</a></dd>"##))
            #expect(html.contains("Acme &lt;script&gt;alert(1)&lt;/script&gt; 40%"))
            #expect(!html.contains("<script>alert"))

            let (api, json) = try ReaderFixtures.get(app, "/api/v1/reports/\(report.publicID)")
            #expect(api.status == 200)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let charts = try #require(body["charts"] as? [[String: Any]])
            #expect(charts.count == 2)
            #expect(charts[0]["kind"] as? String == "line" && charts[0]["unit"] as? String == "USD bn")
            #expect(charts[0]["table_index"] as? Int == 0 && charts[0]["table_anchor"] as? String == "table-1")
            let points = try #require(charts[0]["points"] as? [[String: Any]])
            #expect(points.map { $0["value"] as? Double } == [45.0, 49.1, 53.6])
            #expect(points.map { $0["forecast"] as? Bool } == [false, false, true])
            #expect(charts[1]["kind"] as? String == "share" && charts[1]["table_index"] as? Int == 2)
            let shares = try #require(charts[1]["points"] as? [[String: Any]])
            #expect(shares.map { $0["label"] as? String } == ["Acme <script>alert(1)</script>", "Beta", "Other"])
            #expect(shares.last?["remainder"] as? Bool == true)
            let figures = try #require(body["key_figures"] as? [String: Any])
            #expect((figures["cagr"] as? [String: Any])?["value"] as? Double == 9.2)
            #expect((figures["current_size"] as? [String: Any])?["year"] as? Int == 2025)

            let (_, markdown) = try ReaderFixtures.get(app, "/r/\(report.slug).md")
            #expect(markdown.contains("| 2026F | 53.6 |\n") && markdown.contains("| Acme <script>alert(1)</script> | 40% |\n"),
                    "the download holds every table as written")
        }
    }
}
