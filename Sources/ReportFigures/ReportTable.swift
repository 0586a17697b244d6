import Foundation

/// One GitHub-flavoured Markdown table of a report, as written: the cells' text with inline markup removed.
public struct ReportTable: Sendable, Equatable {
    /// The table's position among the report's tables, from 0, in document order (the n-th `<table>` of the page).
    public var index: Int
    /// The text of the nearest heading above the table, if any.
    public var heading: String?
    /// The `id` the page gives the table (`table-1` for index 0), so a chart or a key figure can link to it.
    public var anchor: String
    /// The header row's cells.
    public var header: [String]
    /// The body rows, each padded or cut to the header's width (as GFM renders them).
    public var rows: [[String]]

    /// Creates a table.
    public init(index: Int, heading: String?, header: [String], rows: [[String]]) {
        self.index = index
        self.heading = heading
        self.anchor = Self.anchor(forIndex: index)
        self.header = header
        self.rows = rows
    }

    /// The anchor of the table at `index`.
    public static func anchor(forIndex index: Int) -> String { "table-\(index + 1)" }

    /// The cells of column `column`, top to bottom.
    func column(_ column: Int) -> [String] { rows.map { column < $0.count ? $0[column] : "" } }
}

/// Finds GFM tables in Markdown text line by line, the way cmark-gfm does for tables at the top level of a
/// document: a header row, a delimiter row with as many cells, then body rows until a blank line or another
/// block. Tables inside fenced or indented code are skipped; tables nested in lists or quotes are not looked
/// for (the page then matches tables to charts by count and shows none rather than misplace them).
enum TableScanner {
    static func tables(in markdown: String) -> [ReportTable] {
        let lines = markdown.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { String($0).replacingOccurrences(of: "\r", with: "") }
        var tables: [ReportTable] = []
        var heading: String?
        var fence: String?
        var previousBlank = true
        var i = 0
        while i < lines.count {
            let line = lines[i]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                if trimmed.hasPrefix(open) { fence = nil }
                i += 1
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = String(trimmed.prefix(3))
                i += 1
                continue
            }
            let indented = line.hasPrefix("    ") || line.hasPrefix("\t")
            if indented && previousBlank {
                i += 1
                continue
            }
            if let text = headingText(trimmed), !indented {
                heading = text
                previousBlank = false
                i += 1
                continue
            }
            if !indented, i + 1 < lines.count, trimmed.contains("|"), let header = Optional(cells(of: trimmed)),
                let alignment = delimiterCount(lines[i + 1]), alignment == header.count
            {
                var rows: [[String]] = []
                var j = i + 2
                while j < lines.count {
                    let row = lines[j].trimmingCharacters(in: .whitespaces)
                    if row.isEmpty || headingText(row) != nil || row.hasPrefix(">") || row.hasPrefix("```") { break }
                    var cells = cells(of: row)
                    if cells.count < header.count { cells += Array(repeating: "", count: header.count - cells.count) }
                    rows.append(Array(cells.prefix(header.count)))
                    j += 1
                }
                tables.append(ReportTable(index: tables.count, heading: heading, header: header, rows: rows))
                i = j
                previousBlank = false
                continue
            }
            previousBlank = trimmed.isEmpty
            i += 1
        }
        return tables
    }

    /// The text of an ATX heading line (`## Market size`), without its markers and closing hashes.
    static func headingText(_ line: String) -> String? {
        let hashes = line.prefix { $0 == "#" }
        guard (1...6).contains(hashes.count) else { return nil }
        let rest = line.dropFirst(hashes.count)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var text = rest.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("#") { text.removeLast() }
        return CellText.plain(text.trimmingCharacters(in: .whitespaces))
    }

    /// The number of cells of a delimiter row (`|---|:--:|`), or nil when `line` is not one.
    static func delimiterCount(_ line: String) -> Int? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.contains("-"), !(line.hasPrefix("    ") || line.hasPrefix("\t")) else { return nil }
        let parts = rawCells(of: trimmed)
        guard !parts.isEmpty else { return nil }
        for part in parts {
            var p = Substring(part.trimmingCharacters(in: .whitespaces))
            if p.hasPrefix(":") { p = p.dropFirst() }
            if p.hasSuffix(":") { p = p.dropLast() }
            guard !p.isEmpty, p.allSatisfy({ $0 == "-" }) else { return nil }
        }
        // A single cell needs a pipe, else a `---` line would be a setext underline or a rule.
        if parts.count == 1 && !trimmed.contains("|") { return nil }
        return parts.count
    }

    /// A row's cells as plain text.
    static func cells(of line: String) -> [String] { rawCells(of: line).map { CellText.plain($0) } }

    /// A row split at unescaped pipes, one optional leading and trailing pipe dropped; `\|` becomes `|`.
    static func rawCells(of line: String) -> [String] {
        var cells: [String] = []
        var current = ""
        var escaped = false
        for ch in line {
            if escaped {
                current.append(ch == "|" ? "|" : "\\")
                if ch != "|" { current.append(ch) }
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == "|" {
                cells.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        if escaped { current.append("\\") }
        cells.append(current)
        let trimmedLine = line.trimmingCharacters(in: .whitespaces)
        if trimmedLine.hasPrefix("|"), cells.first?.trimmingCharacters(in: .whitespaces).isEmpty == true { cells.removeFirst() }
        if trimmedLine.hasSuffix("|") && !trimmedLine.hasSuffix("\\|"), cells.count > 0,
            cells.last?.trimmingCharacters(in: .whitespaces).isEmpty == true
        {
            cells.removeLast()
        }
        return cells.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}

/// Inline Markdown reduced to the text a reader sees: emphasis and code marks dropped, links to their text.
enum CellText {
    static func plain(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let ch = rest.first {
            // `[label](url)` → label; a citation or footnote marker `[3]` stays (the number parser drops it).
            if ch == "[", let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix("("),
                let paren = rest[close...].firstIndex(of: ")")
            {
                out += rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: paren)...]
                continue
            }
            if ch == "!" && rest.dropFirst().first == "[" {
                rest = rest.dropFirst()
                continue
            }
            if ch == "*" || ch == "`" || (ch == "_" && (rest.dropFirst().first == "_" || out.isEmpty || out.last == " ")) {
                rest = rest.dropFirst()
                if ch == "_" { while rest.first == "_" { rest = rest.dropFirst() } }
                continue
            }
            out.append(ch)
            rest = rest.dropFirst()
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.trimmingCharacters(in: .whitespaces)
    }
}
