public import Foundation
public import Postgres

/// One report in a library listing.
public struct LibraryItem: Sendable, Equatable {
    public var id: Int64
    public var publicID: String
    public var slug: String
    public var title: String
    public var industry: String
    public var region: String
    public var completedAt: Date
    /// How many listed versions its family has (the library shows a family once, by its newest listed version).
    public var versionCount: Int = 1
    /// The excerpt to show: search hits marked when there was search text, else the start of the report.
    public var snippet: [SnippetSegment]
}

/// A piece of a search snippet; `isHit` pieces matched the search.
public struct SnippetSegment: Sendable, Equatable {
    public var text: String
    public var isHit: Bool
}

/// Queries over the public library: completed, public, not hidden reports.
public enum LibrarySearch {
    /// The condition every listed report meets (it matches the partial index `reports_library_idx`).
    static let listed = "status = 'completed' AND visibility = 'public' AND NOT hidden"
    /// A listed report that no newer listed version of its family supersedes (issue 16: one entry per family).
    static let newestOfFamily = """
        NOT EXISTS (SELECT 1 FROM reports newer WHERE newer.family_id = reports.family_id \
        AND newer.version > reports.version AND newer.status = 'completed' AND newer.visibility = 'public' \
        AND NOT newer.hidden)
        """
    /// The number of listed versions in the family of `r`.
    static let familyVersionCount = """
        (SELECT count(*) FROM reports v WHERE v.family_id = r.family_id AND v.status = 'completed' \
        AND v.visibility = 'public' AND NOT v.hidden AND v.version IS NOT NULL)
        """

    /// Markers `ts_headline` puts around hits: private-use characters, which `snippet(from:)` turns into
    /// segments. A report that contains them itself only gets some text highlighted; nothing becomes markup.
    static let hitStart: Character = "\u{E000}"
    static let hitEnd: Character = "\u{E001}"
    static let headlineOptions =
        "StartSel=\"\u{E000}\", StopSel=\"\u{E001}\", MaxFragments=2, MaxWords=28, MinWords=10, "
        + "ShortWord=3, FragmentDelimiter=\" … \""

    /// The `WHERE` clause for a query's filters (not its page or order).
    static func filters(_ query: LibraryQuery) -> Query {
        var parts: [Query] = [Query(unescaped: listed), Query(unescaped: newestOfFamily)]
        if let text = query.text { parts.append("search @@ websearch_to_tsquery('english', \(text))") }
        if let region = query.region { parts.append("region = \(region)") }
        if let from = query.from { parts.append("completed_at >= \(from.start)") }
        if let to = query.to { parts.append("completed_at < \(to.end)") }
        return Query.joined(parts, separator: " AND ")
    }

    /// How many reports match the filters.
    public static func count(_ query: LibraryQuery, on connection: Connection) throws -> Int {
        guard query.isFiltered else { return try listedFamilies(on: connection) }
        return try connection.queryFirst("SELECT count(*) AS n FROM reports WHERE \(filters(query))")?.int("n") ?? 0
    }

    /// The unfiltered count: each family with a listed version shows once, so it is the number of distinct
    /// families among listed reports, read from `reports_library_family_idx` alone (2 ms with 10,000 reports,
    /// where the `newestOfFamily` anti-join reads every row twice: 28 ms, recomputed each second). A listed report
    /// without a version (none: completion numbers it) neither hides nor is hidden by `newestOfFamily`, so it
    /// counts on its own, as there.
    static func listedFamilies(on connection: Connection) throws -> Int {
        try connection.queryFirst(
            """
            SELECT (SELECT count(*) FROM (SELECT DISTINCT family_id FROM reports
                                          WHERE \(unescaped: listed) AND version IS NOT NULL) AS families)
                 + (SELECT count(*) FROM reports WHERE \(unescaped: listed) AND version IS NULL) AS n
            """)?.int("n") ?? 0
    }

    /// The page of `query`: at most `LibraryQuery.pageSize` items.
    public static func page(_ query: LibraryQuery, on connection: Connection) throws -> [LibraryItem] {
        let order: String
        let outerOrder: String
        switch query.sort {
        case .newest: (order, outerOrder) = ("completed_at DESC, id DESC", "page.completed_at DESC, page.id DESC")
        case .oldest: (order, outerOrder) = ("completed_at ASC, id ASC", "page.completed_at ASC, page.id ASC")
        case .relevance:
            (order, outerOrder) = (
                "rank DESC, completed_at DESC, id DESC", "page.rank DESC, page.completed_at DESC, page.id DESC"
            )
        }
        let offset = (query.page - 1) * LibraryQuery.pageSize
        // Ranking reads every match's tsvector, so it is computed only when the order needs it.
        let rank: Query =
            query.sort == .relevance
            ? query.text.map { "ts_rank(search, websearch_to_tsquery('english', \($0)))" } ?? "0::real" : "0::real"
        let snippetSQL: Query =
            query.text.map {
                "ts_headline('english', r.content, websearch_to_tsquery('english', \($0)), \(headlineOptions))"
            } ?? "left(r.content, 1500)"
        // The page is chosen on the narrow inner query; the expensive snippet is computed for its rows only.
        let rows = try connection.query(
            """
            SELECT r.id, r.public_id, r.slug, r.title, r.industry, r.region, r.completed_at, \(snippetSQL) AS snippet,
                   \(unescaped: familyVersionCount) AS versions
            FROM (SELECT id, completed_at, \(rank) AS rank FROM reports WHERE \(filters(query))
                  ORDER BY \(unescaped: order) LIMIT \(LibraryQuery.pageSize) OFFSET \(offset)) AS page
            JOIN reports r ON r.id = page.id
            ORDER BY \(unescaped: outerOrder)
            """)
        return try rows.map { row in
            let raw = try row.optionalString("snippet") ?? ""
            return LibraryItem(
                id: try row.int64("id"), publicID: try row.string("public_id"), slug: try row.string("slug"),
                title: try row.string("title"), industry: try row.string("industry"), region: try row.string("region"),
                completedAt: try row.date("completed_at"), versionCount: try row.int("versions"),
                snippet: query.text == nil
                    ? [SnippetSegment(text: ReportRendering.summary(of: raw), isHit: false)]
                    : snippet(from: raw))
        }
    }

    /// Distinct regions of listed reports, for the filter (at most 300). It skips through
    /// `reports_library_region_idx` from each region to the next, one index probe per region (0.2 ms with 10,000
    /// reports; `SELECT DISTINCT` read every row: 10 ms, recomputed each second).
    public static func regions(on connection: Connection) throws -> [String] {
        try connection.query(
            """
            WITH RECURSIVE next(region) AS (
                (SELECT region FROM reports WHERE \(unescaped: listed) AND region <> '' ORDER BY region LIMIT 1)
                UNION ALL
                SELECT (SELECT r.region FROM reports r WHERE \(unescaped: listed) AND r.region > next.region
                        ORDER BY r.region LIMIT 1)
                FROM next WHERE next.region IS NOT NULL
            )
            SELECT region FROM next WHERE region IS NOT NULL LIMIT 300
            """
        ).map { try $0.string("region") }
    }

    /// Splits a `ts_headline` result at its markers into plain and hit segments, with Markdown punctuation and
    /// citation markers removed and whitespace collapsed. The text stays text: the template escapes it.
    static func snippet(from headline: String) -> [SnippetSegment] {
        var segments: [SnippetSegment] = []
        var current = ""
        var inHit = false
        func flush() {
            let cleaned = tidy(current)
            if !cleaned.trimmingCharacters(in: .whitespaces).isEmpty {
                segments.append(SnippetSegment(text: cleaned, isHit: inHit))
            }
            current = ""
        }
        for character in headline {
            if character == hitStart, !inHit {
                flush()
                inHit = true
            } else if character == hitEnd, inHit {
                flush()
                inHit = false
            } else if character != hitStart, character != hitEnd {
                current.append(character)
            }
        }
        flush()
        return segments
    }

    /// Removes Markdown table and emphasis punctuation and `[n]` markers; newlines and runs of spaces become
    /// single spaces (kept at the edges, so a hit stays apart from its neighbours).
    static func tidy(_ text: String) -> String {
        var out = ""
        var lastWasSpace = false
        for character in ReportRendering.removingCitationMarkers(text) {
            if character.isWhitespace || "#*|_`>".contains(character) {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(character)
                lastWasSpace = false
            }
        }
        return out
    }
}
