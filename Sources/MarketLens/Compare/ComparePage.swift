import Foundation

/// The view model of `templates/compare.mustache`: plain values only, so the template escapes every string
/// of both reports, the diff's pieces included (nothing here is HTML).
enum ComparePage {
    static func context(older: Report, newer: Report) -> [String: Any] {
        let oldBody = body(of: older)
        let newBody = body(of: newer)
        let diff = SectionDiff.compare(old: oldBody, new: newBody)
        return [
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
