import ReportFigures
import Web

/// Puts each table of a rendered report in a block carrying its anchor (`id="table-2"`), with the table's
/// charts beside it as inline SVG. The table stays: it is the accessible, printable, copyable form of the data.
enum TableFigures {
    /// `html` with the tables wrapped, or nil when the page's tables are not the ones `ReportFigures` read (a
    /// table inside a list or quote): then no chart is placed at all rather than one beside the wrong table.
    /// cmark's safe mode drops raw HTML and escapes `<` in text, so every `<table>` in `html` is a rendered table.
    static func place(_ charts: [ReportChart], tableCount: Int, in html: String) -> String? {
        let parts = html.components(separatedBy: "<table>")
        guard parts.count - 1 == tableCount else { return nil }
        guard tableCount > 0 else { return html }
        var out = parts[0]
        for (index, rest) in parts.dropFirst().enumerated() {
            let own = charts.filter { $0.tableIndex == index }
            let anchor = ReportTable.anchor(forIndex: index)
            out += "<div class=\"table-figure\(own.isEmpty ? "" : " table-figure--charted")\" id=\"\(anchor)\">"
            if !own.isEmpty {
                out += "<div class=\"table-charts\">"
                for chart in own {
                    out += "<figure class=\"chart-figure\">" + ChartSVG.render(chart)
                    if let note = chart.note { out += "<figcaption class=\"chart-note\">\(HTMLEscaping.escapeHTML(note))</figcaption>" }
                    out += "</figure>"
                }
                out += "</div>"
            }
            guard let close = rest.range(of: "</table>") else { return nil }
            out += "<table>" + rest[..<close.upperBound] + "</div>" + rest[close.upperBound...]
        }
        return out
    }
}
