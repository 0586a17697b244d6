/// What changed between two versions of a report, section by section (issue 16's compare page): sections are
/// cut at Markdown headings and matched by their heading text; a section only in the newer version was added,
/// one only in the older was removed, and one in both with other text changed, with its `TextDiff`. Pure.
enum SectionDiff {
    /// A stretch of a Markdown document from one heading to the next.
    struct Section: Equatable {
        /// The heading's text without its `#` marks; empty for the text before the first heading.
        var heading: String
        /// 1-6; 0 for the text before the first heading.
        var level: Int
        /// The lines under the heading, trimmed of blank lines at both ends.
        var body: String
    }

    /// A section that differs between the versions.
    struct Changed: Equatable {
        var heading: String
        var lines: [TextDiff.Line]
    }

    /// The whole comparison, in the newer version's order (removed ones in the older version's).
    struct Result: Equatable {
        var added: [Section]
        var removed: [Section]
        var changed: [Changed]
        var unchangedCount: Int
    }

    /// Compares the older version's Markdown with the newer one's.
    static func compare(old: String, new: String) -> Result {
        let before = keyed(sections(of: old))
        let after = keyed(sections(of: new))
        let beforeKeys = Set(before.map(\.key))
        let afterByKey = Dictionary(after.map { ($0.key, $0.section) }, uniquingKeysWith: { first, _ in first })
        let beforeByKey = Dictionary(before.map { ($0.key, $0.section) }, uniquingKeysWith: { first, _ in first })
        var result = Result(added: [], removed: [], changed: [], unchangedCount: 0)
        for (key, section) in after {
            guard beforeKeys.contains(key), let previous = beforeByKey[key] else {
                // An empty preamble appearing is not an added section worth showing.
                if !(section.level == 0 && section.body.isEmpty) { result.added.append(section) }
                continue
            }
            if previous.body == section.body {
                result.unchangedCount += 1
            } else {
                result.changed.append(Changed(heading: section.heading, lines: TextDiff.lines(previous.body, section.body)))
            }
        }
        for (key, section) in before where afterByKey[key] == nil {
            if !(section.level == 0 && section.body.isEmpty) { result.removed.append(section) }
        }
        return result
    }

    /// The document cut at ATX headings (`#` to `######`, outside fenced code), in order.
    static func sections(of markdown: String) -> [Section] {
        var result: [Section] = []
        var heading = ""
        var level = 0
        var body: [String] = []
        var fence: String?
        func flush() {
            let text = body.joined(separator: "\n").trimmingBlankLines()
            if level > 0 || !text.isEmpty { result.append(Section(heading: heading, level: level, body: text)) }
        }
        for line in TextDiff.splitLines(markdown) {
            let trimmed = line.drop(while: { $0 == " " })
            if let open = fence {
                if trimmed.hasPrefix(open) { fence = nil }
                body.append(line)
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = String(trimmed.prefix(3))
                body.append(line)
                continue
            }
            if let parsed = atxHeading(String(trimmed)), line.count - trimmed.count < 4 {
                flush()
                heading = parsed.text
                level = parsed.level
                body = []
            } else {
                body.append(line)
            }
        }
        flush()
        return result
    }

    /// `## Text ##` → (2, "Text"); nil for anything that is not an ATX heading.
    static func atxHeading(_ line: String) -> (level: Int, text: String)? {
        let marks = line.prefix(while: { $0 == "#" }).count
        guard (1...6).contains(marks) else { return nil }
        let rest = line.dropFirst(marks)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var text = rest.trimming(" \t")
        // A closing run of #s preceded by a space is not part of the text.
        let closing = text.reversed().prefix(while: { $0 == "#" }).count
        if closing > 0 {
            let kept = text.dropLast(closing)
            if kept.isEmpty || kept.last == " " { text = kept.trimming(" \t") }
        }
        return (marks, text)
    }

    /// Each section with its matching key: the heading in lower case with spaces collapsed, and its occurrence
    /// number, so two "Outlook" sections match their counterparts in order.
    static func keyed(_ sections: [Section]) -> [(key: String, section: Section)] {
        var seen: [String: Int] = [:]
        return sections.map { section in
            let base = section.heading.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let count = seen[base, default: 0]
            seen[base] = count + 1
            return ("\(base)#\(count)", section)
        }
    }
}

extension String {
    /// Without blank lines at the start and end (inner ones kept).
    fileprivate func trimmingBlankLines() -> String {
        var lines = split(separator: "\n", omittingEmptySubsequences: false)
        while let first = lines.first, first.allSatisfy(\.isWhitespace) { lines.removeFirst() }
        while let last = lines.last, last.allSatisfy(\.isWhitespace) { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    /// Without the given characters at both ends.
    fileprivate func trimming(_ set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

extension Substring {
    fileprivate func trimming(_ set: String) -> String { String(self).trimming(set) }
}
