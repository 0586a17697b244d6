/// Library answers that are costly to compute on every request and may be a few seconds old: the result count
/// of a filter set, the list of regions, and whole rendered library pages (a micro-cache: a popular page is
/// rendered once per `pageTTL` per process instead of once per request). A new or hidden report shows in the
/// list within about `pageTTL`; counts and a new region within about `ttl`.
public final class LibraryCache: Sendable {
    private let pages: RefreshingCache<String>
    private let counts: RefreshingCache<Int>
    private let regionList: RefreshingCache<[String]>

    /// A cache whose counts and regions live `ttl` (default 10 seconds) and pages `pageTTL` (default 5 seconds);
    /// at most 16 MiB of pages and 2,000 counts are kept.
    public init(ttl: Duration = .seconds(10), pageTTL: Duration = .seconds(5)) {
        pages = RefreshingCache(ttl: pageTTL, maxCost: 16 << 20) { $0.utf8.count }
        counts = RefreshingCache(ttl: ttl, maxCost: 2_000)
        regionList = RefreshingCache(ttl: ttl)
    }

    /// The rendered page for `key` (see `RefreshingCache.value(key:compute:)`).
    func page(key: String, render: () throws -> String) rethrows -> String {
        try pages.value(key: key, compute: render)
    }

    /// The result count for `key`.
    func count(key: String, compute: () throws -> Int) rethrows -> Int {
        try counts.value(key: key, compute: compute)
    }

    /// The region list.
    func regions(compute: () throws -> [String]) rethrows -> [String] {
        try regionList.value(key: "", compute: compute)
    }
}
