import Foundation

/// What a report's `[n]` markers point to, and what else the research read.
///
/// The numbered references are the entries of the report's own reference section (`ReferenceSection`), in
/// number order, each enriched with the basis citation of the same URL (its title when the report gave none, its
/// excerpts). The rest of the basis (Parallel lists every site visited there) becomes the consulted sources:
/// de-duplicated, never numbered, never repeating a URL of the numbered list. A report without a section has no
/// numbered references, so its markers stay plain text rather than pointing at an unrelated basis entry.
public struct ReportCitations: Sendable, Equatable {
    /// The report's own references by number.
    public var references: [ReportReference]
    /// Basis sources the report does not list, in basis order.
    public var consulted: [ReportReference]
    /// The section the references came from (nil when the report has none).
    public var section: ReferenceSection?
    /// The basis entries (reasoning and confidence are shown beside the references).
    public var basis: ReportBasis

    /// The numbers a marker may link to.
    public var targets: Set<Int> { Set(references.map(\.number)) }

    /// Builds the references of `content` against `basis`.
    public init(content: String, basis: ReportBasis) {
        self.basis = basis
        let section = ReferenceSection.find(in: content)
        self.section = section
        var byURL: [String: ReportReference] = [:]
        for citation in basis.references {
            let key = Self.key(citation.url)
            if !key.isEmpty, byURL[key] == nil { byURL[key] = citation }
        }
        var references: [ReportReference] = []
        var numbers: Set<Int> = []
        var firstNumberOfURL: [String: Int] = [:]
        var leftOver: [ReferenceSection.Entry] = []
        for entry in section?.entries ?? [] {
            guard let number = entry.number, !numbers.contains(number) else {
                leftOver.append(entry)
                continue
            }
            numbers.insert(number)
            let key = entry.url.map(Self.key) ?? ""
            let match = key.isEmpty ? nil : byURL[key]
            let reference = ReportReference(
                number: number, title: entry.title ?? (match?.hasTitle == true ? match?.displayTitle : nil),
                url: entry.url ?? "", excerpts: match?.excerpts ?? [],
                duplicateOf: key.isEmpty ? nil : firstNumberOfURL[key])
            if !key.isEmpty, firstNumberOfURL[key] == nil { firstNumberOfURL[key] = number }
            references.append(reference)
        }
        self.references = references.sorted { $0.number < $1.number }
        // Everything else: entries the list could not number, then the basis, each URL once.
        var seen = Set(firstNumberOfURL.keys)
        var consulted: [ReportReference] = []
        let extra = leftOver.compactMap { entry -> ReportReference? in
            guard let url = entry.url else { return nil }
            let match = byURL[Self.key(url)]
            return ReportReference(
                number: 0, title: entry.title ?? (match?.hasTitle == true ? match?.displayTitle : nil), url: url,
                excerpts: match?.excerpts ?? [])
        }
        for source in extra + basis.references where consulted.count < ReportBasis.maxReferences {
            let key = Self.key(source.url)
            guard !key.isEmpty, seen.insert(key).inserted else { continue }
            var kept = source
            kept.number = consulted.count + 1
            kept.duplicateOf = nil
            consulted.append(kept)
        }
        self.consulted = consulted
    }

    /// The URL as a matching key: scheme, `www.`, fragment and trailing slashes dropped, host lower-cased.
    static func key(_ url: String) -> String {
        var rest = Substring(url.trimmingCharacters(in: .whitespaces))
        guard let scheme = rest.range(of: "://") else { return rest.lowercased() }
        rest = rest[scheme.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let hostEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var host = rest[..<hostEnd].lowercased()
        if host.hasPrefix("www.") { host.removeFirst(4) }
        var path = String(rest[hostEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        return host + path
    }
}
