/// Library answers that are costly to compute on every request and may be up to a second old: the result count
/// of a filter set, the list of regions, and whole rendered library pages (a micro-cache: a popular page is
/// rendered at most once per second per process instead of once per request). They expire with nginx's copy of
/// the page (`CacheExpiry.endOfSecond`), so a new or hidden report shows in the list, its count and
/// its region within a second.
public final class LibraryCache: Sendable {
    private let pages: RefreshingCache<String>
    private let counts: RefreshingCache<Int>
    private let regionList: RefreshingCache<[String]>

    /// A cache whose values live until the end of the current second; at most 16 MiB of pages and 2,000 counts
    /// are kept.
    public convenience init() { self.init(expiry: .endOfSecond) }

    /// A cache whose values live as `expiry` says (tests use a fixed time).
    init(expiry: CacheExpiry) {
        pages = RefreshingCache(expiry: expiry, maxCost: 16 << 20) { $0.utf8.count }
        counts = RefreshingCache(expiry: expiry, maxCost: 2_000)
        regionList = RefreshingCache(expiry: expiry)
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
