import Foundation
import Web

/// Draws a `ReportChart` as an inline SVG element: no script, no `style` attribute (the CSP allows only the
/// stylesheet), colours as presentation attributes that `static/css/report.css` overrides by class for dark mode
/// and print. `role="img"` with a `<title>` and a `<desc>` listing every value, so the chart reads without
/// sight. Every text from the report is escaped.
public enum ChartSVG {
    /// The names of the two series when a chart is drawn over another (`Version 2`, `Version 1`).
    public struct Legend: Sendable, Equatable {
        public var primary: String
        public var overlay: String
        public init(primary: String, overlay: String) {
            self.primary = primary
            self.overlay = overlay
        }
    }

    static let width = 640.0
    static let left = 64.0
    static let right = 20.0
    static let top = 36.0
    static let bottom = 44.0
    static let plotHeight = 200.0

    /// The SVG of `chart`; with `overlay`, that chart's values drawn over it in a second style, named by `legend`
    /// (default "This report" / "Other version").
    public static func render(_ chart: ReportChart, overlay: ReportChart? = nil, legend: Legend? = nil) -> String {
        let legend = legend ?? Legend(primary: "This report", overlay: "Other version")
        let body: (height: Double, content: String)
        switch chart.kind {
        case .line: body = line(chart, overlay: overlay)
        case .bar: body = bars(chart, overlay: overlay)
        case .share: body = shares(chart, overlay: overlay)
        }
        var legendItems: [(String, String)] = []
        if overlay != nil {
            legendItems.append(("chart-key chart-key--primary", legend.primary))
            legendItems.append(("chart-key chart-key--overlay", legend.overlay))
        }
        if chart.hasForecast || overlay?.hasForecast == true {
            legendItems.append(("chart-key chart-key--forecast", chart.kind == .line ? "Forecast (dashed)" : "Forecast (hatched)"))
        }
        if chart.points.contains(where: \.isRemainder) {
            legendItems.append(("chart-key chart-key--other", "Other: remainder to 100%"))
        }
        let id = escape(chart.id)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart chart--\(chart.kind.rawValue)\""
        svg += " viewBox=\"0 0 \(Int(width)) \(Int(body.height))\" role=\"img\""
        svg += " aria-labelledby=\"\(id)-title \(id)-desc\">"
        svg += "<title id=\"\(id)-title\">\(escape(title(chart)))</title>"
        svg += "<desc id=\"\(id)-desc\">\(escape(description(chart, overlay: overlay, legend: legend)))</desc>"
        svg += "<defs><pattern id=\"\(id)-hatch\" class=\"chart-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\""
        svg += " patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" class=\"chart-hatch__bg\" fill=\"#dbe4f3\"/>"
        svg += "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" class=\"chart-hatch__line\" stroke=\"#2f5fa7\" stroke-width=\"3\"/></pattern></defs>"
        svg += "<text x=\"\(Int(left))\" y=\"16\" class=\"chart-title\" fill=\"#1f2328\" font-size=\"13\" font-weight=\"600\">\(escape(title(chart)))</text>"
        var x = left
        for (cls, text) in legendItems {
            svg += "<rect x=\"\(fmt(x))\" y=\"22\" width=\"10\" height=\"10\" class=\"\(cls)\" fill=\"#2f5fa7\"/>"
            svg += "<text x=\"\(fmt(x + 14))\" y=\"31\" class=\"chart-label\" fill=\"#57606a\" font-size=\"11\">\(escape(text))</text>"
            x += 24 + Double(text.count) * 6.2
        }
        svg += body.content.replacingOccurrences(of: "HATCH", with: "\(id)-hatch")
        return svg + "</svg>"
    }

    /// `Market size (USD bn)`.
    static func title(_ chart: ReportChart) -> String { chart.titleWithUnit }

    /// Every value in words, forecasts and the added remainder named as such.
    public static func description(_ chart: ReportChart, overlay: ReportChart? = nil, legend: Legend? = nil) -> String {
        let kind = switch chart.kind {
        case .line: "Line chart"
        case .bar: "Bar chart"
        case .share: "Horizontal bar chart, largest share first,"
        }
        var text = "\(kind) of \(chart.titleWithUnit)"
        if let heading = chart.heading, !heading.isEmpty { text += " from the table under “\(heading)”" }
        text += ": " + values(chart)
        if let overlay {
            let legend = legend ?? Legend(primary: "This report", overlay: "Other version")
            text = "\(legend.primary): " + text + " \(legend.overlay): " + values(overlay)
        }
        if let note = chart.note { text += " " + note }
        return text
    }

    static func values(_ chart: ReportChart) -> String {
        chart.points.map { point in
            var item = "\(point.label) \(NumberText.withUnit(point.value, unit: chart.unit))"
            if point.isForecast { item += " (forecast)" }
            if point.isRemainder { item += " (the remainder to 100%, not in the table)" }
            return item
        }.joined(separator: "; ") + "."
    }

    // MARK: - time series

    /// A y scale from 0 (or the lowest negative value) to a round maximum, with its gridline values.
    static func scale(_ values: [Double]) -> (min: Double, max: Double, ticks: [Double]) {
        let high = max(values.max() ?? 1, 0)
        let low = min(values.min() ?? 0, 0)
        let span = max(high - low, 1e-9)
        let rough = span / 4
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? rough
        let lowTick = floor(low / step) * step
        let highTick = max(ceil(high / step) * step, lowTick + step)
        let ticks = stride(from: lowTick, through: highTick + step / 2, by: step).map { $0 }
        return (lowTick, highTick, ticks)
    }

    static func grid(_ y: (Double) -> Double, ticks: [Double], unit: String) -> String {
        var out = ""
        for tick in ticks {
            let yy = fmt(y(tick))
            out += "<line x1=\"\(fmt(left))\" y1=\"\(yy)\" x2=\"\(fmt(width - right))\" y2=\"\(yy)\" class=\"chart-grid\" stroke=\"#d0d7de\" stroke-width=\"1\"/>"
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y(tick) + 4))\" text-anchor=\"end\" class=\"chart-label\" fill=\"#57606a\" font-size=\"11\">\(escape(NumberText.format(tick) + (unit == "%" ? "%" : "")))</text>"
        }
        return out
    }

    /// Which of `labels` get an x-axis label: all of up to 10, else evenly thinned (first and last kept).
    static func labelled(_ count: Int) -> (Int) -> Bool {
        let every = max(1, Int((Double(count) / 10).rounded(.up)))
        return { i in i % every == 0 || i == count - 1 }
    }

    static func line(_ chart: ReportChart, overlay: ReportChart?) -> (height: Double, content: String) {
        let series = [chart] + (overlay.map { [$0] } ?? [])
        let all = series.flatMap(\.points)
        let positions = all.compactMap(\.position)
        let lowX = positions.min() ?? 0, highX = positions.max() ?? 1
        let (lowY, highY, ticks) = scale(all.map(\.value))
        let plotWidth = width - left - right
        func x(_ p: Double) -> Double { highX == lowX ? left + plotWidth / 2 : left + (p - lowX) / (highX - lowX) * plotWidth }
        func y(_ v: Double) -> Double { top + plotHeight - (v - lowY) / (highY - lowY) * plotHeight }
        var out = grid(y, ticks: ticks, unit: chart.unit)
        // x labels: the union of periods, by position.
        var seen = Set<Double>()
        let axis = all.filter { $0.position != nil && seen.insert($0.position!).inserted }.sorted { $0.position! < $1.position! }
        let show = labelled(axis.count)
        for (i, point) in axis.enumerated() where show(i) {
            out += "<text x=\"\(fmt(x(point.position!)))\" y=\"\(fmt(top + plotHeight + 18))\" text-anchor=\"middle\" class=\"chart-label\" fill=\"#57606a\" font-size=\"11\">\(escape(point.label))</text>"
        }
        for (n, s) in series.enumerated() {
            let role = n == 0 ? "primary" : "overlay"
            let colour = n == 0 ? "#2f5fa7" : "#c4472b"
            let pts = s.points.filter { $0.position != nil }
            let actual = pts.filter { !$0.isForecast }
            var forecast = pts.filter(\.isForecast)
            if let last = actual.last, !forecast.isEmpty { forecast.insert(last, at: 0) }
            for (segment, dashed) in [(actual, false), (forecast, true)] where segment.count >= 2 {
                let d = segment.enumerated().map { i, p in "\(i == 0 ? "M" : "L")\(fmt(x(p.position!))),\(fmt(y(p.value)))" }.joined(separator: " ")
                out += "<path d=\"\(d)\" class=\"chart-line chart-line--\(role)\(dashed ? " chart-line--forecast" : "")\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.5\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            }
            for p in pts {
                out += "<circle cx=\"\(fmt(x(p.position!)))\" cy=\"\(fmt(y(p.value)))\" r=\"3.5\" class=\"chart-point chart-point--\(role)\(p.isForecast ? " chart-point--forecast" : "")\" fill=\"\(p.isForecast ? "#ffffff" : colour)\" stroke=\"\(colour)\" stroke-width=\"2\"><title>\(escape(p.label + ": " + NumberText.withUnit(p.value, unit: s.unit) + (p.isForecast ? " (forecast)" : "")))</title></circle>"
            }
        }
        out += baseline(y(max(lowY, 0) == 0 ? 0 : lowY))
        return (top + plotHeight + bottom, out)
    }

    static func baseline(_ y: Double) -> String {
        "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(width - right))\" y2=\"\(fmt(y))\" class=\"chart-axis\" stroke=\"#57606a\" stroke-width=\"1\"/>"
    }

    static func bars(_ chart: ReportChart, overlay: ReportChart?) -> (height: Double, content: String) {
        let series = [chart] + (overlay.map { [$0] } ?? [])
        let all = series.flatMap(\.points)
        var seen = Set<String>()
        let axis = all.sorted { ($0.position ?? 0) < ($1.position ?? 0) }.filter { seen.insert(key($0)).inserted }
        let (lowY, highY, ticks) = scale(all.map(\.value))
        func y(_ v: Double) -> Double { top + plotHeight - (v - lowY) / (highY - lowY) * plotHeight }
        let band = (width - left - right) / Double(max(axis.count, 1))
        let barWidth = min(48, band * 0.7) / Double(series.count)
        var out = grid(y, ticks: ticks, unit: chart.unit)
        let show = labelled(axis.count)
        for (i, slot) in axis.enumerated() {
            let centre = left + band * (Double(i) + 0.5)
            if show(i) {
                out += "<text x=\"\(fmt(centre))\" y=\"\(fmt(top + plotHeight + 18))\" text-anchor=\"middle\" class=\"chart-label\" fill=\"#57606a\" font-size=\"11\">\(escape(slot.label))</text>"
            }
            for (n, s) in series.enumerated() {
                guard let p = s.points.first(where: { key($0) == key(slot) }) else { continue }
                let x0 = centre - barWidth * Double(series.count) / 2 + barWidth * Double(n)
                let y0 = y(max(p.value, 0)), y1 = y(min(p.value, 0))
                out += barRect(x: x0, y: y0, width: barWidth - 2, height: max(y1 - y0, 0.5), role: n == 0 ? "primary" : "overlay",
                               forecast: p.isForecast, other: false, tip: p.label + ": " + NumberText.withUnit(p.value, unit: s.unit))
            }
        }
        out += baseline(y(0))
        return (top + plotHeight + bottom, out)
    }

    static func key(_ p: ReportChart.Point) -> String { p.position.map { "\($0)" } ?? p.label.lowercased() }

    static func barRect(x: Double, y: Double, width: Double, height: Double, role: String, forecast: Bool, other: Bool, tip: String) -> String {
        var cls = "chart-bar chart-bar--\(role)"
        if forecast { cls += " chart-bar--forecast" }
        if other { cls += " chart-bar--other" }
        let fill = forecast ? "url(#HATCH)" : other ? "#8c959f" : role == "primary" ? "#2f5fa7" : "#c4472b"
        return "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(max(width, 1)))\" height=\"\(fmt(height))\" class=\"\(cls)\" fill=\"\(fill)\"><title>\(escape(tip + (forecast ? " (forecast)" : "")))</title></rect>"
    }

    // MARK: - shares

    static func shares(_ chart: ReportChart, overlay: ReportChart?) -> (height: Double, content: String) {
        var names = chart.points.map { $0.label }
        for p in overlay?.points ?? [] where !names.contains(where: { $0.lowercased() == p.label.lowercased() }) { names.append(p.label) }
        let series = [chart] + (overlay.map { [$0] } ?? [])
        let rowHeight = overlay == nil ? 24.0 : 34.0
        let labelWidth = 170.0
        let maxValue = max(series.flatMap(\.points).map(\.value).max() ?? 1, 1e-9)
        let plotWidth = width - labelWidth - right - 56
        var out = ""
        for (i, name) in names.enumerated() {
            let rowTop = top + Double(i) * rowHeight
            let shown = name.count > 26 ? String(name.prefix(25)) + "…" : name
            out += "<text x=\"\(fmt(labelWidth - 8))\" y=\"\(fmt(rowTop + rowHeight / 2 + 4))\" text-anchor=\"end\" class=\"chart-label\" fill=\"#1f2328\" font-size=\"12\">\(escape(shown))</text>"
            let barHeight = (rowHeight - 6) / Double(series.count)
            for (n, s) in series.enumerated() {
                guard let p = s.points.first(where: { $0.label.lowercased() == name.lowercased() }) else { continue }
                let w = p.value / maxValue * plotWidth
                let y0 = rowTop + 3 + barHeight * Double(n)
                out += barRect(x: labelWidth, y: y0, width: w, height: barHeight - 1, role: n == 0 ? "primary" : "overlay",
                               forecast: false, other: p.isRemainder, tip: p.label + ": " + NumberText.withUnit(p.value, unit: "%"))
                out += "<text x=\"\(fmt(labelWidth + max(w, 1) + 6))\" y=\"\(fmt(y0 + barHeight / 2 + 3))\" class=\"chart-label\" fill=\"#57606a\" font-size=\"11\">\(escape(NumberText.withUnit(p.value, unit: "%")))</text>"
            }
        }
        out += "<line x1=\"\(fmt(labelWidth))\" y1=\"\(fmt(top))\" x2=\"\(fmt(labelWidth))\" y2=\"\(fmt(top + Double(names.count) * rowHeight))\" class=\"chart-axis\" stroke=\"#57606a\" stroke-width=\"1\"/>"
        return (top + Double(names.count) * rowHeight + 12, out)
    }

    static func escape(_ text: String) -> String { HTMLEscaping.escapeHTML(text) }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v.isFinite ? v : 0) }
}
