import Foundation

/// How a simulated deep-research report writes its own reference section: the shapes real reports use.
/// Chosen per run from the content seed (so the same input always gets the same shape), or asked for with
/// `metadata.sim_refs` or `sim:refs=<form>` in the input.
enum ReferenceForm: String, CaseIterable, Sendable {
    /// `1. Title. https://…`
    case numbered
    /// `[1] Title – https://…`
    case bracket
    /// `1. [Title](https://…)`
    case mdlink
    /// Entries spanning lines: title, publisher, then the URL on its own line.
    case multiline
    /// No heading: the report ends with the URLs, one per line (markers count them).
    case bare
    /// Markers in the text, no reference section at all.
    case none

    /// Headings real reports put over the section (level and case vary).
    static let headings = ["## References", "## Sources", "### Citations", "## Bibliography", "**References**", "## REFERENCES"]

    /// The form a run asks for, if any.
    static func requested(metadata: JSON, input: JSON) -> ReferenceForm? {
        if let name = metadata["sim_refs"]?.stringValue { return ReferenceForm(rawValue: name) }
        let text = input.stringValue ?? input.compact
        guard let range = text.range(of: "sim:refs=") else { return nil }
        let name = text[range.upperBound...].prefix { $0.isLetter }
        return ReferenceForm(rawValue: String(name))
    }

    /// The section for `sources` (numbered from 1), to append to the report.
    func section(for sources: [ContentGenerator.Source], heading: String) -> String {
        let numbered = sources.enumerated().map { (number: $0.offset + 1, source: $0.element) }
        switch self {
        case .none:
            return ""
        case .bare:
            return "\n" + sources.map { $0.url + "\n" }.joined()
        case .numbered:
            return "\n\(heading)\n\n" + numbered.map { "\($0.number). \($0.source.title). \($0.source.url)\n" }.joined()
        case .bracket:
            return "\n\(heading)\n\n" + numbered.map { "[\($0.number)] \($0.source.title) \u{2013} \($0.source.url)\n\n" }.joined()
        case .mdlink:
            return "\n\(heading)\n\n" + numbered.map { "\($0.number). [\($0.source.title)](\($0.source.url))\n" }.joined()
        case .multiline:
            return "\n\(heading)\n\n" + numbered.map { entry in
                let parts = entry.source.title.split(separator: ":", maxSplits: 1)
                let publisher = parts.first.map(String.init) ?? ""
                let title = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : entry.source.title
                return "\(entry.number). \(title),\n   \(publisher), 2025.\n   Available at: \(entry.source.url)\n"
            }.joined()
        }
    }
}
