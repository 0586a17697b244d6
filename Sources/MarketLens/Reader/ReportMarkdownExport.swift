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

    /// Where the report stands in its family of versions (issue 16).
    public struct Versions: Sendable, Equatable {
        /// One version of the family.
        public struct Entry: Sendable, Equatable {
            public var version: Int
            public var id: String
            public var url: String
            public init(version: Int, id: String, url: String) {
                self.version = version
                self.id = id
                self.url = url
            }
        }

        /// This report's number in the family.
        public var version: Int
        /// The family's id (the public id of its first report).
        public var family: String
        /// Every version a reader of this one may see, this one included, oldest first.
        public var all: [Entry]

        public init(version: Int, family: String, all: [Entry]) {
            self.version = version
            self.family = family
            self.all = all
        }
    }

    /// The whole document; `versions` adds the report's version, family and the other versions to the front
    /// matter.
    public static func document(metadata: Metadata, versions: Versions? = nil, content: String,
                                citations: ReportCitations) -> String {
        var out = frontMatter(metadata, versions: versions)
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
    public static func frontMatter(_ metadata: Metadata, versions: Versions? = nil) -> String {
        let iso = Date.ISO8601FormatStyle(includingFractionalSeconds: false)
        var lines = ["---"]
        lines.append("title: " + yamlQuoted(metadata.title))
        lines.append("industry: " + yamlQuoted(metadata.industry))
        lines.append("region: " + yamlQuoted(metadata.region))
        lines.append("created: " + yamlQuoted(metadata.created.formatted(iso)))
        lines.append("completed: " + (metadata.completed.map { yamlQuoted($0.formatted(iso)) } ?? "null"))
        lines.append("processor: " + yamlQuoted(metadata.processor))
        lines.append("url: " + yamlQuoted(metadata.url))
        if let versions {
            lines.append("version: \(versions.version)")
            lines.append("family: " + yamlQuoted(versions.family))
            lines.append("versions:")
            for entry in versions.all {
                lines.append("  - version: \(entry.version)")
                lines.append("    id: " + yamlQuoted(entry.id))
                lines.append("    url: " + yamlQuoted(entry.url))
            }
        }
        lines.append("---")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar: backslash and quote escaped, every control, line or paragraph separator,
    /// DEL, C1 control and byte-order mark written as `\uXXXX`, so no value can end the string, start a new key
    /// or close the front matter (`QuotedString`, which JSON log lines use too).
    public static func yamlQuoted(_ value: String) -> String { QuotedString.doubleQuoted(value) }
}
