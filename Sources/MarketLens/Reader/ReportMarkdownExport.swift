public import Foundation

/// The `.md` download of a report: YAML front matter, the report as upstream wrote it (its own reference
/// section included), then the other sources the research consulted as a plain bulleted list (never a second
/// numbered list: the report's `[n]` already point into its own).
public enum ReportMarkdownExport {
    /// The metadata written into the front matter.
    public struct Metadata: Sendable {
        public var title: String
        public var industry: String
        public var region: String
        public var created: Date
        public var completed: Date?
        public var processor: String
        public var url: String

        /// Creates the metadata.
        public init(
            title: String, industry: String, region: String, created: Date, completed: Date?, processor: String,
            url: String
        ) {
            self.title = title
            self.industry = industry
            self.region = region
            self.created = created
            self.completed = completed
            self.processor = processor
            self.url = url
        }
    }

    /// The whole document.
    public static func document(metadata: Metadata, content: String, citations: ReportCitations) -> String {
        var out = frontMatter(metadata)
        out += "\n"
        out += content.hasSuffix("\n") ? content : content + "\n"
        guard !citations.consulted.isEmpty else { return out }
        out += "\n## Other sources consulted\n\n"
        for source in citations.consulted {
            let title = source.displayTitle.replacingOccurrences(of: "\n", with: " ")
            out += "- \(title) — \(source.url.replacingOccurrences(of: "\n", with: " "))\n"
        }
        return out
    }

    /// `---`, one `key: "value"` line per field (values always double-quoted and escaped), `---`.
    public static func frontMatter(_ metadata: Metadata) -> String {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: false)
        var lines = ["---"]
        lines.append("title: " + yamlQuoted(metadata.title))
        lines.append("industry: " + yamlQuoted(metadata.industry))
        lines.append("region: " + yamlQuoted(metadata.region))
        lines.append("created: " + yamlQuoted(metadata.created.formatted(iso)))
        lines.append("completed: " + (metadata.completed.map { yamlQuoted($0.formatted(iso)) } ?? "null"))
        lines.append("processor: " + yamlQuoted(metadata.processor))
        lines.append("url: " + yamlQuoted(metadata.url))
        lines.append("---")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar: backslash and quote escaped, every control, line or paragraph separator,
    /// DEL, C1 control and byte-order mark written as `\uXXXX`, so no value can end the string, start a new key
    /// or close the front matter (`QuotedString`, which JSON log lines use too).
    public static func yamlQuoted(_ value: String) -> String { QuotedString.doubleQuoted(value) }
}
