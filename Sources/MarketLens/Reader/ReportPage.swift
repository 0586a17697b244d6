import Foundation
import Markdown
import ReportFigures

/// The view model of `templates/report.mustache`: plain values only, so the template escapes every string
/// (the rendered Markdown is the one exception, and it comes from the Markdown module).
enum ReportPage {
    /// Everything the report template shows.
    static func context(
        report: Report, rendered: ReportRendering.Rendered, citations: ReportCitations, baseURL: String
    ) -> [String: Any] {
        let slug = report.slug ?? ""
        let url = ReaderLinks.reportURL(baseURL: baseURL, slug: slug)
        var description = rendered.summary
        if description.isEmpty {
            description = "Market research report on \(report.industry)"
                + (report.region.isEmpty ? "" : " in \(report.region)") + ", with cited sources."
        }
        var meta: [String: Any] = [
            "title": report.title,
            "industry": report.industry,
            "region": report.region,
            "hasRegion": !report.region.isEmpty,
            "processor": report.processor,
            "createdISO": ReaderDates.iso(report.createdAt),
            "createdText": ReaderDates.human(report.createdAt),
            "slug": slug,
            "url": url,
            "markdownPath": "/r/\(slug).md",
            "unlisted": !report.isListed,
        ]
        if let completed = report.completedAt {
            meta["completedISO"] = ReaderDates.iso(completed)
            meta["completedText"] = ReaderDates.human(completed)
            meta["hasCompleted"] = true
        }
        let toc: [[String: Any]] = rendered.toc.map { heading in
            ["anchor": heading.anchor, "text": heading.text, "nested": heading.level > 2]
        }
        let figures = keyFigureContext(rendered.keyFigures)
        let basis = citations.basis
        let notes = basis.entries.filter { !$0.reasoning.isEmpty || $0.confidence != nil }
        return [
            "title": report.title,
            "description": description,
            "nav": ["library": report.isListed],
            "report": meta,
            "noindex": !report.isListed,
            "toc": toc,
            "hasToc": toc.count > 1,
            "bodyHTML": rendered.html,
            "keyFigures": figures,
            "hasKeyFigures": !figures.isEmpty,
            "basis": notes.map { entryContext($0, showField: basis.entries.count > 1) },
            "hasReferences": !citations.references.isEmpty || !citations.consulted.isEmpty || !notes.isEmpty,
            "references": citations.references.map(referenceContext),
            "hasNumbered": !citations.references.isEmpty,
            "consulted": citations.consulted.map(referenceContext),
            "hasConsulted": !citations.consulted.isEmpty,
            "consultedCount": citations.consulted.count,
            "consultedLabel": citations.consulted.count == 1 ? "1 source" : "\(citations.consulted.count) sources",
        ]
    }

    /// The key-figures card: each figure with what it is, its value and the table it came from.
    static func keyFigureContext(_ figures: KeyFigures) -> [[String: Any]] {
        func item(_ figure: KeyFigures.Figure?, label: (KeyFigures.Figure) -> String) -> [String: Any]? {
            guard let figure else { return nil }
            return ["label": label(figure), "value": figure.displayValue, "anchor": figure.tableAnchor,
                    "source": figure.label]
        }
        func year(_ figure: KeyFigures.Figure) -> String { figure.year.map { " (\($0))" } ?? "" }
        return [
            item(figures.currentSize) { "Market size" + year($0) },
            item(figures.forecastSize) { "Forecast" + year($0) },
            item(figures.cagr) { $0.label.lowercased().contains("cagr") ? $0.label : "CAGR" },
        ].compactMap { $0 }
    }

    /// What upstream said about one basis field: how it was researched, and how confident it is.
    static func entryContext(_ entry: ReportBasis.Entry, showField: Bool) -> [String: Any] {
        [
            "field": entry.field,
            "showField": showField,
            "reasoning": entry.reasoning,
            "hasReasoning": !entry.reasoning.isEmpty,
            "confidence": entry.confidence ?? "",
            "hasConfidence": entry.confidence != nil,
        ]
    }

    static func referenceContext(_ reference: ReportReference) -> [String: Any] {
        [
            "number": reference.number,
            "title": reference.displayTitle,
            "hasTitle": reference.hasTitle,
            "domain": reference.domain ?? "",
            "hasDomain": reference.domain != nil,
            "url": reference.url,
            "hasURL": !reference.url.isEmpty,
            "linkURL": reference.linkURL ?? "",
            "isLink": reference.linkURL != nil,
            "excerpts": reference.excerpts,
            "hasExcerpts": !reference.excerpts.isEmpty,
            "duplicateOf": reference.duplicateOf ?? 0,
            "isDuplicate": reference.duplicateOf != nil,
        ]
    }
}

/// Absolute and relative addresses of reader pages.
enum ReaderLinks {
    /// `BASE_URL/r/slug` (the shareable address).
    static func reportURL(baseURL: String, slug: String) -> String {
        (baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL) + "/r/" + slug
    }

    /// Whether `slug` can be a report slug at all (the `reports.slug` check), so junk never reaches the database.
    static func isValidSlug(_ slug: String) -> Bool {
        let bytes = Array(slug.utf8)
        guard (1...120).contains(bytes.count), let first = bytes.first else { return false }
        func allowed(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        return allowed(first) && bytes.dropFirst().allSatisfy { allowed($0) || $0 == UInt8(ascii: "-") }
    }
}

/// Dates as the reader pages show them: ISO 8601 for `<time datetime>`, and a fixed English UTC form for people
/// (the same text whatever the worker's locale, so cached pages agree).
enum ReaderDates {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func iso(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }

    static func human(_ date: Date) -> String {
        let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let month = months[max(0, min(11, (c.month ?? 1) - 1))]
        return "\(c.day ?? 1) \(month) \(c.year ?? 1970), " + String(format: "%02d:%02d UTC", c.hour ?? 0, c.minute ?? 0)
    }

    static func day(_ date: Date) -> String {
        let c = utcCalendar.dateComponents([.year, .month, .day], from: date)
        return "\(c.day ?? 1) \(months[max(0, min(11, (c.month ?? 1) - 1))]) \(c.year ?? 1970)"
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        return calendar
    }()
}
