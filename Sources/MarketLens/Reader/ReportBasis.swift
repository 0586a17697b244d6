import Foundation
import Web

/// A report's research basis (upstream `FieldBasis` entries): reasoning, confidence and the citations of each.
///
/// For a text report the basis is one `output` entry listing every site the research visited; its order has
/// nothing to do with the report's `[n]` markers (those point into the report's own reference section, see
/// `ReportCitations`). Citations are counted in order only so each has a stable position.
/// Everything here came from upstream: nothing is trusted, every string is escaped where it is written.
public struct ReportBasis: Sendable, Equatable {
    /// One `FieldBasis` entry: what a field is based on.
    public struct Entry: Sendable, Equatable {
        /// The output field (`output` for a text report).
        public var field: String
        /// Upstream's explanation of how it reached the field.
        public var reasoning: String
        /// `low`, `medium` or `high` when upstream said so; anything else is dropped.
        public var confidence: String?
        /// The entry's citations, counted across the whole basis.
        public var references: [ReportReference]
    }

    /// The entries in upstream order.
    public var entries: [Entry]

    /// Every citation in basis order.
    public var references: [ReportReference] { entries.flatMap(\.references) }

    /// At most this many citations are kept, so a hostile basis cannot make a page unbounded.
    public static let maxReferences = 1_000
    static let maxExcerpts = 10
    static let maxExcerptLength = 2_000
    static let maxTitleLength = 300
    static let maxReasoningLength = 10_000

    /// Creates a basis from already decoded entries.
    public init(entries: [Entry]) { self.entries = entries }

    /// Decodes the stored `reports.basis` JSON text: a `FieldBasis` array (or an output object holding one under
    /// `basis`). Malformed parts are skipped, never fatal: a report with a broken basis still renders.
    public init(json text: String?) {
        guard let text, let data = text.data(using: .utf8),
            let parsed = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        else {
            self.init(entries: [])
            return
        }
        let list: [Any]
        if let array = parsed as? [Any] {
            list = array
        } else if let object = parsed as? [String: Any], let array = object["basis"] as? [Any] {
            list = array
        } else {
            list = []
        }
        var entries: [Entry] = []
        var number = 0
        var firstNumberOfURL: [String: Int] = [:]
        for case let item as [String: Any] in list {
            var references: [ReportReference] = []
            for case let citation as [String: Any] in (item["citations"] as? [Any]) ?? [] {
                guard number < Self.maxReferences else { break }
                number += 1
                let url = Self.clean(citation["url"] as? String ?? "", limit: 4_096)
                let key = url.lowercased()
                let duplicateOf = key.isEmpty ? nil : firstNumberOfURL[key]
                if !key.isEmpty, duplicateOf == nil { firstNumberOfURL[key] = number }
                let excerpts = ((citation["excerpts"] as? [Any]) ?? []).compactMap { $0 as? String }
                    .map { Self.clean($0, limit: Self.maxExcerptLength) }.filter { !$0.isEmpty }
                    .prefix(Self.maxExcerpts)
                references.append(
                    ReportReference(
                        number: number, title: citation["title"] as? String, url: url, excerpts: Array(excerpts),
                        duplicateOf: duplicateOf))
            }
            let confidence = (item["confidence"] as? String)?.lowercased()
            entries.append(
                Entry(
                    field: Self.clean(item["field"] as? String ?? "output", limit: 200),
                    reasoning: Self.clean(item["reasoning"] as? String ?? "", limit: Self.maxReasoningLength),
                    confidence: ["low", "medium", "high"].contains(confidence ?? "") ? confidence : nil,
                    references: references))
        }
        self.init(entries: entries)
    }

    /// Trims and caps a string, and drops control characters other than newlines and tabs (they have no place
    /// in a page and some terminals or YAML readers misread them).
    static func clean(_ text: String, limit: Int) -> String {
        var out = String.UnicodeScalarView()
        var count = 0
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" { continue }
            if (0x7F...0x9F).contains(scalar.value) { continue }
            out.append(scalar)
            count += 1
            if count >= limit { break }
        }
        return String(out).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// One numbered citation of a report.
public struct ReportReference: Sendable, Equatable {
    /// The number the report's `[n]` markers use.
    public var number: Int
    /// What to call it: its title, else its domain, else "Untitled source".
    public var displayTitle: String
    /// Whether upstream gave a title (otherwise `displayTitle` is a fallback).
    public var hasTitle: Bool
    /// The URL exactly as upstream gave it (trimmed, control characters removed): show it as text only.
    public var url: String
    /// The URL when it is an absolute http(s) URL that may become a link (still to be escaped), else nil.
    public var linkURL: String?
    /// The host of `linkURL`, lower-cased, without `www.`.
    public var domain: String?
    /// Quoted passages from the source.
    public var excerpts: [String]
    /// The first reference with the same URL, when this one repeats it.
    public var duplicateOf: Int?

    /// Builds a reference from upstream's raw title and URL.
    public init(number: Int, title: String?, url: String, excerpts: [String], duplicateOf: Int? = nil) {
        self.number = number
        self.url = url
        self.excerpts = excerpts
        self.duplicateOf = duplicateOf
        linkURL = HTMLEscaping.safeURL(url)
        domain = linkURL.flatMap(Self.domain(of:))
        let cleanTitle = ReportBasis.clean(title ?? "", limit: ReportBasis.maxTitleLength)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
        hasTitle = !cleanTitle.isEmpty
        displayTitle = hasTitle ? cleanTitle : (domain ?? "Untitled source")
    }

    /// The host of an http(s) URL that passed `HTMLEscaping.safeURL`: userinfo and port removed, lower-cased,
    /// a leading `www.` dropped.
    static func domain(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var host = Substring(authority.split(separator: "@", omittingEmptySubsequences: false).last ?? "")
        if host.hasPrefix("[") {
            host = host.prefix { $0 != "]" } + "]"
        } else if let colon = host.firstIndex(of: ":") {
            host = host[..<colon]
        }
        var name = host.lowercased()
        if name.hasPrefix("www.") { name.removeFirst(4) }
        return name.isEmpty ? nil : name
    }
}
