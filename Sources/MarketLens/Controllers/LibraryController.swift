import Foundation
import Postgres
import Web

/// `GET /library`: the public reports, searchable, filterable, paginated.
enum LibraryController {
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let query = try LibraryQuery(form: request.queryItems)
        let cache = context.app.libraryCache
        // Keyed by the canonical query string, so equivalent URLs share one entry.
        let html = try cache.page(key: query.queryString(page: query.page)) {
            let (items, total, regions) = try context.database.withConnection(readOnly: true) { connection in
                let items = try LibrarySearch.page(query, on: connection)
                // The first page that is not full tells the total exactly, without counting.
                let total =
                    query.page == 1 && items.count < LibraryQuery.pageSize
                    ? items.count
                    : try cache.count(key: query.countKey) { try LibrarySearch.count(query, on: connection) }
                let regions = try cache.regions { try LibrarySearch.regions(on: connection) }
                return (items, total, regions)
            }
            let page = LibraryPage.context(query: query, items: items, total: total, regions: regions)
            return try context.app.renderer.render("library", page)
        }
        return Response.html(html).cacheControl(.publicMaxAge(30))
    }
}

/// The view model of `templates/library.mustache`.
enum LibraryPage {
    static func context(query: LibraryQuery, items: [LibraryItem], total: Int, regions: [String]) -> [String: Any] {
        let pages = max(1, (total + LibraryQuery.pageSize - 1) / LibraryQuery.pageSize)
        let first = (query.page - 1) * LibraryQuery.pageSize
        var regionOptions = regions.map { ["name": $0, "selected": $0 == query.region] as [String: Any] }
        if let region = query.region, !regions.contains(region) {
            regionOptions.insert(["name": region, "selected": true], at: 0)
        }
        func link(_ page: Int) -> String {
            var copy = query
            copy.page = page
            let string = copy.queryString(page: page)
            return string.isEmpty ? "/library" : "/library?" + string
        }
        let lastPage = min(pages, LibraryQuery.maxPage)
        let window = max(1, query.page - 2)...max(1, min(lastPage, query.page + 2))
        var description = "Browse and search every public Marketlens market-research report."
        if let text = query.text { description = "Market-research reports matching \u{201C}\(text)\u{201D}." }
        return [
            "title": query.text.map { "Search: \($0)" } ?? "Report library",
            "description": description,
            "nav": ["library": true],
            "q": query.text ?? "",
            "from": query.from?.text ?? "",
            "to": query.to?.text ?? "",
            "regions": regionOptions,
            "hasRegions": !regionOptions.isEmpty,
            "sortOptions": LibraryQuery.Sort.allCases.filter { $0 != .relevance || query.text != nil }.map {
                ["value": $0.rawValue, "label": $0.rawValue.capitalized, "selected": $0 == query.sort] as [String: Any]
            },
            "items": items.map { item in
                [
                    "slug": item.slug, "title": item.title, "industry": item.industry, "region": item.region,
                    "hasRegion": !item.region.isEmpty, "completedISO": ReaderDates.iso(item.completedAt),
                    "completedText": ReaderDates.day(item.completedAt),
                    "snippet": item.snippet.map { ["text": $0.text, "hit": $0.isHit] as [String: Any] },
                    "hasSnippet": !item.snippet.isEmpty,
                    "hasVersions": item.versionCount > 1, "versionsText": "\(item.versionCount) versions",
                ] as [String: Any]
            },
            "hasItems": !items.isEmpty,
            "total": total,
            "totalText": total == 1 ? "1 report" : "\(total) reports",
            "rangeText": items.isEmpty ? "" : "\(first + 1)–\(first + items.count)",
            "filtered": query.isFiltered,
            "searching": query.text != nil,
            "pastEnd": items.isEmpty && query.page > 1,
            "pagination": pages > 1 || query.page > 1,
            "page": query.page,
            "pages": pages,
            "prev": query.page > 1 ? link(query.page - 1) : "",
            "hasPrev": query.page > 1,
            "next": query.page < lastPage ? link(query.page + 1) : "",
            "hasNext": query.page < lastPage,
            "pageLinks": window.map { ["number": $0, "href": link($0), "current": $0 == query.page] as [String: Any] },
            "firstPage": link(1),
        ]
    }
}
