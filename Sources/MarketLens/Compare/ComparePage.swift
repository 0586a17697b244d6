import Foundation
import ReportFigures

/// The view model of `templates/compare.mustache`: plain values only, so the template escapes every string
/// of both reports, the diff's pieces included (nothing here is HTML).
enum ComparePage {
    static func context(older: Report, newer: Report) -> [String: Any] {
        let oldBody = body(of: older)
        let newBody = body(of: newer)
        let diff = SectionDiff.compare(old: oldBody, new: newBody)
        let oldFigures = ReportFigures.read(oldBody, completedAt: older.completedAt)
        let newFigures = ReportFigures.read(newBody, completedAt: newer.completedAt)
        let figures = keyFigureRows(
            older: oldFigures.keyFigures, newer: newFigures.keyFigures,
            olderSlug: older.slug ?? "", newerSlug: newer.slug ?? "")
        let charts = overlaidCharts(
            older: oldFigures.charts, newer: newFigures.charts,
            legend: ChartSVG.Legend(primary: "Version \(newer.version ?? 1)", overlay: "Version \(older.version ?? 1)"))
        return [
            "figures": figures,
            "hasFigures": !figures.isEmpty,
            "charts": charts,
            "hasCharts": !charts.isEmpty,
            "title": "\(newer.title): version \(older.version ?? 1) and \(newer.version ?? 1) compared",
            "description": "What changed between two versions of a Marketlens report.",
            "noindex": !(older.isListed && newer.isListed),
            "older": side(older),
            "newer": side(newer),
            "added": diff.added.map(sectionContext),
            "hasAdded": !diff.added.isEmpty,
            "removed": diff.removed.map(sectionContext),
            "hasRemoved": !diff.removed.isEmpty,
            "changed": diff.changed.map(changedContext),
            "hasChanged": !diff.changed.isEmpty,
            "unchangedText": diff.unchangedCount == 1 ? "1 section is unchanged." : "\(diff.unchangedCount) sections are unchanged.",
            "identical": diff.added.isEmpty && diff.removed.isEmpty && diff.changed.isEmpty,
        ]
    }

    /// One row per key figure either version states: both values (each linked to its table) and the change.
    static func keyFigureRows(older: KeyFigures, newer: KeyFigures, olderSlug: String, newerSlug: String)
        -> [[String: Any]]
    {
        let pairs: [(String, KeyFigures.Figure?, KeyFigures.Figure?)] = [
            ("Market size", older.currentSize, newer.currentSize),
            ("Forecast market size", older.forecastSize, newer.forecastSize),
            ("CAGR", older.cagr, newer.cagr),
        ]
        return pairs.compactMap { name, before, after -> [String: Any]? in
            guard before != nil || after != nil else { return nil }
            var row: [String: Any] = ["name": name, "change": change(from: before, to: after),
                                       "hasBefore": before != nil, "hasAfter": after != nil, "changed": false]
            if let before { row["before"] = figureContext(before, slug: olderSlug) }
            if let after { row["after"] = figureContext(after, slug: newerSlug) }
            if let before, let after { row["changed"] = before.value != after.value }
            return row
        }
    }

    static func figureContext(_ figure: KeyFigures.Figure, slug: String) -> [String: Any] {
        ["value": figure.displayValue, "year": figure.year.map(String.init) ?? "", "hasYear": figure.year != nil,
         "href": "/r/\(slug)#\(figure.tableAnchor)"]
    }

    /// `+0.8 (+6.5%)` for sizes, `+0.3 percentage points` for rates; `—` when either side is missing or the
    /// units differ (a change between unlike figures would be invented).
    static func change(from before: KeyFigures.Figure?, to after: KeyFigures.Figure?) -> String {
        guard let before, let after, before.unit == after.unit else { return "—" }
        let delta = after.value - before.value
        if delta == 0 { return "unchanged" }
        let sign = delta > 0 ? "+" : "−"
        if before.unit == "%" { return "\(sign)\(NumberText.format(abs(delta))) percentage points" }
        var text = sign + NumberText.withUnit(abs(delta), unit: after.unit)
        if before.value != 0 {
            text += " (\(sign)\(NumberText.format((abs(delta) / abs(before.value) * 1000).rounded() / 10))%)"
        }
        return text
    }

    /// The newer version's charts, each with the older version's chart of the same title and kind drawn over it
    /// (a chart only one version has is drawn alone, so nothing is hidden).
    static func overlaidCharts(older: [ReportChart], newer: [ReportChart], legend: ChartSVG.Legend) -> [[String: Any]] {
        var unused = older
        return newer.map { chart in
            let match = unused.firstIndex { $0.kind == chart.kind && $0.titleWithUnit == chart.titleWithUnit }
            let overlay = match.map { unused.remove(at: $0) }
            // The SVG is ChartSVG's own markup, every text in it escaped there.
            return ["svg": ChartSVG.render(chart, overlay: overlay, legend: overlay == nil ? nil : legend),
                    "title": chart.titleWithUnit, "overlaid": overlay != nil]
        }
    }

    /// The report's text as the page shows it: without its own reference list (which the diff would otherwise
    /// fill with every renumbered source).
    static func body(of report: Report) -> String {
        let content = report.content ?? ""
        let citations = ReportCitations(content: content, basis: ReportBasis(json: report.basis?.text))
        return citations.section.map { $0.removing(from: content) } ?? content
    }

    static func side(_ report: Report) -> [String: Any] {
        var values: [String: Any] = [
            "version": report.version ?? 1,
            "slug": report.slug ?? "",
            "title": report.title,
        ]
        if let completed = report.completedAt {
            values["completedText"] = ReaderDates.day(completed)
            values["completedISO"] = ReaderDates.iso(completed)
        }
        return values
    }

    static func sectionContext(_ section: SectionDiff.Section) -> [String: Any] {
        ["heading": section.heading.isEmpty ? "(Introduction)" : section.heading,
         "excerpt": excerpt(section.body)]
    }

    /// A changed section: its lines, each a list of pieces marked `same`, `del` or `ins`.
    static func changedContext(_ changed: SectionDiff.Changed) -> [String: Any] {
        let lines: [[String: Any]] = changed.lines.map { line in
            switch line {
            case .same(let text): ["kind": "same", "pieces": [piece(text, "same")]]
            case .deleted(let text): ["kind": "del", "pieces": [piece(text, "del")]]
            case .inserted(let text): ["kind": "ins", "pieces": [piece(text, "ins")]]
            case .changed(let pieces):
                ["kind": "changed", "pieces": pieces.map { piece in
                    switch piece {
                    case .same(let text): ComparePage.piece(text, "same")
                    case .deleted(let text): ComparePage.piece(text, "del")
                    case .inserted(let text): ComparePage.piece(text, "ins")
                    }
                }]
            }
        }
        return ["heading": changed.heading.isEmpty ? "(Introduction)" : changed.heading, "lines": lines]
    }

    static func piece(_ text: String, _ kind: String) -> [String: Any] {
        ["text": text, "same": kind == "same", "del": kind == "del", "ins": kind == "ins"]
    }

    /// The first 240 characters of a section, on one line.
    static func excerpt(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 240 ? String(flat.prefix(240)) + "…" : flat
    }
}
