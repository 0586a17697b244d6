import Foundation

/// The reference list a deep-research report writes at its own end, found in its Markdown.
///
/// Parallel's text output cites sources with inline `[n]` markers and lists them "at the base of the report
/// itself" under a heading such as References, Sources, Citations or Bibliography (any level, any case, also as
/// a bold line); some reports end with an un-headed list of URLs instead. The basis of a text run lists every
/// site visited and does not follow the markers' numbering, so only this section says what `[n]` means.
/// Pure string work: no upstream text is trusted, nothing here renders HTML.
public struct ReferenceSection: Sendable, Equatable {
    /// One entry as the report wrote it.
    public struct Entry: Sendable, Equatable {
        /// The entry's number (`1.`, `[1]`, `- [1]`), or nil when the list is not numbered.
        public var number: Int?
        /// The title as written, markup and the URL taken out; nil when the entry is only a URL.
        public var title: String?
        /// The entry's first http(s) URL, or nil.
        public var url: String?
    }

    /// The heading text (nil for an un-headed trailing list).
    public var heading: String?
    /// The section's lines in the content, heading included: what the page shows as its own list instead.
    public var lineRange: Range<Int>
    /// The entries in the order written.
    public var entries: [Entry]

    /// At most this many entries are read, so a hostile report cannot make a page unbounded.
    static let maxEntries = 1_000

    /// Finds the report's reference section: the last heading named like one whose section lists at least one
    /// URL, else a trailing list whose every item carries a URL. Nil when there is neither.
    public static func find(in content: String) -> ReferenceSection? {
        let lines = Self.lines(of: content)
        let headings = Self.headings(in: lines)
        for (position, heading) in headings.enumerated().reversed() where isReferenceHeading(heading.text) {
            let end = headings[(position + 1)...].first { $0.level <= heading.level }?.line ?? lines.count
            let entries = parseEntries(lines[heading.bodyStart..<end])
            if entries.contains(where: { $0.url != nil }) {
                return ReferenceSection(heading: heading.text, lineRange: heading.line..<end, entries: entries)
            }
        }
        return trailingList(in: lines, after: headings.last.map { $0.bodyStart } ?? 0)
    }

    /// `content` split into lines (`\n`, `\r\n` or `\r`).
    static func lines(of content: String) -> [Substring] {
        content.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
    }

    /// `content` without the section's lines (what the report page renders above its own reference list).
    public func removing(from content: String) -> String {
        var lines = Self.lines(of: content)
        let range = lineRange.clamped(to: 0..<lines.count)
        lines.removeSubrange(range)
        return lines.joined(separator: "\n")
    }

    /// `line` without leading and trailing spaces and tabs (cheaper than Foundation's trimming, which this
    /// runs on every line).
    static func trimmed(_ line: Substring) -> Substring {
        var out = line
        while let first = out.first, first == " " || first == "\t" { out = out.dropFirst() }
        while let last = out.last, last == " " || last == "\t" { out = out.dropLast() }
        return out
    }

    // MARK: headings

    struct Heading {
        var line: Int
        var bodyStart: Int
        /// 1–6 for ATX and setext headings, 7 for a bold or `Sources:` line (ended by any real heading).
        var level: Int
        var text: String
    }

    /// Every heading outside fenced code: ATX (`## x`), setext (`x` over `---`/`===`) and a line that is only
    /// bold text or a name with a colon (`**Sources**`, `References:`), which reports also use as headings.
    static func headings(in lines: [Substring]) -> [Heading] {
        var out: [Heading] = []
        var fence: Substring?
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let trimmed = String(Self.trimmed(line))
            if let open = fence {
                if trimmed.hasPrefix(open) { fence = nil }
                index += 1
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = Substring(trimmed.prefix(3))
                index += 1
                continue
            }
            let indent = line.prefix { $0 == " " }.count
            if indent < 4, trimmed.hasPrefix("#") {
                let hashes = trimmed.prefix { $0 == "#" }.count
                let rest = trimmed.dropFirst(hashes)
                if (1...6).contains(hashes), rest.isEmpty || rest.first == " " || rest.first == "\t" {
                    var text = rest.trimmingCharacters(in: .whitespaces)
                    while text.hasSuffix("#") { text.removeLast() }
                    out.append(Heading(line: index, bodyStart: index + 1, level: hashes, text: plain(text)))
                    index += 1
                    continue
                }
            }
            if index + 1 < lines.count, !trimmed.isEmpty, indent < 4, !startsItem(trimmed) {
                let under = Self.trimmed(lines[index + 1])
                if !under.isEmpty, under.allSatisfy({ $0 == "=" }) || (under.count >= 2 && under.allSatisfy({ $0 == "-" })) {
                    out.append(Heading(line: index, bodyStart: index + 2, level: under.first == "=" ? 1 : 2, text: plain(trimmed)))
                    index += 2
                    continue
                }
            }
            if let text = pseudoHeading(trimmed) {
                out.append(Heading(line: index, bodyStart: index + 1, level: 7, text: text))
            }
            index += 1
        }
        return out
    }

    /// The text of a line that is only bold (`**Sources**`, `__References:__`) or a short name ending in a
    /// colon (`References:`).
    static func pseudoHeading(_ line: String) -> String? {
        for mark in ["**", "__"] where line.hasPrefix(mark) {
            var inner = line.dropFirst(2)
            if inner.hasSuffix(":") { inner = inner.dropLast() }
            guard inner.hasSuffix(mark) else { return nil }
            inner = inner.dropLast(2)
            guard !inner.isEmpty, !inner.contains("*"), !inner.contains("_") else { return nil }
            return plain(String(inner))
        }
        if line.hasSuffix(":"), line.count <= 40, !line.contains("://"), !startsItem(line) {
            return plain(String(line.dropLast()))
        }
        return nil
    }

    /// Whether a heading names a reference list: its words, after dropping joiners, are all reference words
    /// (`References`, `Sources`, `Citations`, `Bibliography`, `Works cited`, `Sources and references`, `7. Sources`).
    static func isReferenceHeading(_ text: String) -> Bool {
        let words = text.lowercased().split { !$0.isLetter }.map(String.init)
            .filter { !["and", "list", "of", "cited", "works", "the", "key", "further", "notes", "full"].contains($0) }
        let names: Set<String> = ["references", "reference", "sources", "source", "citations", "citation", "bibliography"]
        return !words.isEmpty && words.count <= 3 && words.allSatisfy(names.contains)
    }

    /// Heading text without emphasis marks, a trailing colon or a leading section number (`7.`, `VII.`).
    static func plain(_ text: String) -> String {
        var out = text.filter { !"*_`".contains($0) }.trimmingCharacters(in: .whitespaces)
        if out.hasSuffix(":") { out.removeLast() }
        let first = out.prefix { !$0.isWhitespace }
        if first.hasSuffix("."), first.dropLast().allSatisfy({ $0.isNumber || "IVXLivxl".contains($0) }), first.count > 1 {
            out = out.dropFirst(first.count).trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    // MARK: entries

    /// Whether a line (leading spaces removed) begins a list entry: `1.`/`1)`, `[1]`/`[^1]:`, a bullet, or a URL.
    static func startsItem(_ line: String) -> Bool { itemStart(line) != nil }

    /// For a line that begins an entry: its number, if any, and the text after the marker.
    static func itemStart(_ line: String) -> (number: Int?, rest: Substring)? {
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        if (1...4).contains(digits.count) {
            let after = line.dropFirst(digits.count)
            if let mark = after.first, mark == "." || mark == ")", after.dropFirst().first?.isWhitespace ?? false {
                return (Int(digits), after.dropFirst().drop { $0.isWhitespace })
            }
        }
        if let (number, rest) = bracketNumber(Substring(line)) { return (number, rest) }
        if let bullet = line.first, "-*+•".contains(bullet), line.dropFirst().first?.isWhitespace ?? false {
            let rest = line.dropFirst().drop { $0.isWhitespace }
            if let (number, after) = bracketNumber(rest) { return (number, after) }
            let inner = rest.prefix { $0.isASCII && $0.isNumber }
            if (1...4).contains(inner.count), let mark = rest.dropFirst(inner.count).first, mark == "." || mark == ")",
                rest.dropFirst(inner.count + 1).first?.isWhitespace ?? false
            {
                return (Int(inner), rest.dropFirst(inner.count + 1).drop { $0.isWhitespace })
            }
            return (nil, rest)
        }
        let lower = line.prefix(8).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("<http") {
            return (nil, Substring(line))
        }
        return nil
    }

    /// `[n]`, `[n]:`, `[^n]:` at the start of `text`: the number and what follows.
    static func bracketNumber(_ text: Substring) -> (Int, Substring)? {
        guard text.first == "[" else { return nil }
        var body = text.dropFirst()
        if body.first == "^" { body = body.dropFirst() }
        let digits = body.prefix { $0.isASCII && $0.isNumber }
        guard (1...4).contains(digits.count), body.dropFirst(digits.count).first == "]" else { return nil }
        var rest = body.dropFirst(digits.count + 1)
        if rest.first == ":" { rest = rest.dropFirst() }
        // `[1](https://…)` is a Markdown link whose text is a number, not a numbered entry.
        guard rest.first != "(" else { return nil }
        return (Int(digits) ?? 0, rest.drop { $0.isWhitespace })
    }

    /// The entries in a section's lines. An entry starts at a list marker or a URL line; the lines below it
    /// that start nothing belong to it (entries may span lines, the URL often on a line of its own), until a
    /// blank line is followed by unindented prose. Text before the first entry (an introduction) is skipped. When no entry is numbered, entries are
    /// numbered by position (markers then count entries); when some are, unnumbered ones get no number.
    static func parseEntries(_ lines: ArraySlice<Substring>) -> [Entry] {
        var items: [(number: Int?, text: String)] = []
        var open = false
        var previousBlank = false
        var fenced = false
        for line in lines {
            let trimmed = String(Self.trimmed(line))
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") { fenced.toggle(); open = false; continue }
            if fenced { continue }
            if trimmed.isEmpty {
                previousBlank = true
                continue
            }
            defer { previousBlank = false }
            let lower = trimmed.prefix(8).lowercased()
            let urlLine = lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("<http")
            if urlLine, open, let last = items.last, bareURL(in: last.text) == nil {
                // The URL line of an entry whose title came on the line(s) above.
                items[items.count - 1].text += " " + trimmed
            } else if let (number, rest) = itemStart(trimmed) {
                guard items.count < maxEntries else { break }
                items.append((number, String(rest)))
                open = true
            } else if open, !previousBlank || line.first == " " || line.first == "\t" {
                items[items.count - 1].text += " " + trimmed
            } else {
                open = false
            }
        }
        let numbered = items.contains { $0.number != nil }
        return items.enumerated().compactMap { position, item in
            var entry = parseEntry(item.text)
            entry.number = numbered ? item.number : position + 1
            return entry.url == nil && entry.title == nil ? nil : entry
        }
    }

    /// Title and URL of one entry's text: a Markdown link `[Title](URL)`, an autolink `<URL>` or a bare URL,
    /// with what remains (separators, "Available at:", emphasis) cleaned into the title.
    static func parseEntry(_ text: String) -> Entry {
        var remainder = text
        var url: String?
        var title: String?
        if let link = markdownLink(in: text) {
            url = link.url
            let label = ReportBasis.clean(link.label, limit: 600)
            if !label.isEmpty, !isURL(label) { title = label }
            remainder.replaceSubrange(link.range, with: " ")
        } else if let found = bareURL(in: text) {
            url = found.url
            remainder.replaceSubrange(found.range, with: " ")
        }
        if title == nil { title = cleanTitle(remainder) }
        return Entry(number: nil, title: title, url: url)
    }

    static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("www.")
    }

    /// The first `[label](http…)` in `text`.
    static func markdownLink(in text: String) -> (label: String, url: String, range: Range<String.Index>)? {
        var search = text.startIndex
        while let open = text[search...].firstIndex(of: "[") {
            guard let close = text[open...].firstIndex(of: "]") else { return nil }
            let after = text.index(after: close)
            if after < text.endIndex, text[after] == "(", let end = text[after...].firstIndex(of: ")") {
                var target = text[text.index(after: after)..<end].trimmingCharacters(in: .whitespaces)
                if target.hasPrefix("<"), let angle = target.firstIndex(of: ">") {
                    target = String(target[target.index(after: target.startIndex)..<angle])
                }
                target = String(target.prefix { !$0.isWhitespace })
                if isURL(target), !target.lowercased().hasPrefix("www.") {
                    return (String(text[text.index(after: open)..<close]), target, open..<text.index(after: end))
                }
            }
            search = text.index(after: open)
        }
        return nil
    }

    /// The first http(s) URL in `text` (in angle brackets or bare), without trailing punctuation or an
    /// unbalanced closing bracket.
    static func bareURL(in text: String) -> (url: String, range: Range<String.Index>)? {
        guard let found = [text.range(of: "https://", options: .caseInsensitive),
                           text.range(of: "http://", options: .caseInsensitive)].compactMap({ $0 })
            .min(by: { $0.lowerBound < $1.lowerBound })
        else { return nil }
        let start = found.lowerBound
        var end = text[start...].firstIndex { $0.isWhitespace || "<>\"`".contains($0) } ?? text.endIndex
        var url = text[start..<end]
        while let last = url.last {
            if ".,;:!?'*_".contains(last) {
                url = url.dropLast()
            } else if last == ")" && url.filter({ $0 == "(" }).count < url.filter({ $0 == ")" }).count {
                url = url.dropLast()
            } else if last == "]" && url.filter({ $0 == "[" }).count < url.filter({ $0 == "]" }).count {
                url = url.dropLast()
            } else {
                break
            }
        }
        end = url.endIndex
        var rangeStart = start
        if rangeStart > text.startIndex, text[text.index(before: rangeStart)] == "<" {
            rangeStart = text.index(before: rangeStart)
            if end < text.endIndex, text[end] == ">" { end = text.index(after: end) }
        }
        guard url.count > 8 else { return nil }
        return (String(url), rangeStart..<end)
    }

    /// What is left of an entry once its URL is out: "Available at:", "Retrieved from", "URL:" and similar
    /// dropped, emphasis and surrounding quotes removed, separators trimmed. Nil when nothing is left.
    static func cleanTitle(_ text: String) -> String? {
        var out = text
        let lower = text.lowercased()
        for phrase in ["available at:", "available at", "available from:", "retrieved from:", "retrieved from",
                       "url:", "link:", "source:", "online:", "[online]"] where lower.contains(phrase) {
            while let range = out.range(of: phrase, options: .caseInsensitive) { out.replaceSubrange(range, with: " ") }
        }
        out = out.replacingOccurrences(of: "()", with: " ").replacingOccurrences(of: "[]", with: " ")
            .replacingOccurrences(of: "<>", with: " ")
        out = out.filter { !"*`".contains($0) }
        out = out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let edges: Set<Character> = [" ", "-", "\u{2013}", "\u{2014}", ":", ",", ";", "|", "(", ")", ".", "_", "/"]
        let quotes: [(Character, Character)] = [("\"", "\""), ("\u{201C}", "\u{201D}"), ("'", "'")]
        var unquoted = true
        while unquoted {
            while let first = out.first, edges.contains(first) { out.removeFirst() }
            while let last = out.last, edges.contains(last) { out.removeLast() }
            unquoted = false
            for (open, close) in quotes where out.count > 2 && out.first == open && out.last == close {
                out = String(out.dropFirst().dropLast())
                unquoted = true
            }
        }
        let cleaned = ReportBasis.clean(out, limit: ReportBasis.maxTitleLength)
        return cleaned.isEmpty ? nil : cleaned
    }

    /// A trailing list without a heading: the last blocks after `start` whose every entry has a URL.
    static func trailingList(in lines: [Substring], after start: Int) -> ReferenceSection? {
        var end = lines.count
        while end > start, Self.trimmed(lines[end - 1]).isEmpty { end -= 1 }
        guard end > start else { return nil }
        // Walk back over blocks (separated by blank lines) that begin with an entry.
        var first = end
        var index = end
        while index > start {
            var blockStart = index
            while blockStart > start, !Self.trimmed(lines[blockStart - 1]).isEmpty { blockStart -= 1 }
            let opening = Self.trimmed(lines[blockStart])
            guard startsItem(String(opening)), !lines[blockStart].hasPrefix("    ") else { break }
            first = blockStart
            index = blockStart
            while index > start, Self.trimmed(lines[index - 1]).isEmpty { index -= 1 }
        }
        guard first < end else { return nil }
        var firstItem = first
        // An indented line is a continuation of the entry above, never the start of the section.
        while firstItem < end, lines[firstItem].first == " " || lines[firstItem].first == "\t" { firstItem += 1 }
        let entries = parseEntries(lines[firstItem..<end])
        guard !entries.isEmpty, entries.allSatisfy({ $0.url != nil }) else { return nil }
        return ReferenceSection(heading: nil, lineRange: firstItem..<end, entries: entries)
    }
}
