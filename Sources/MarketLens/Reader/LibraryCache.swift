import Foundation
import Synchronization

/// Library answers that are costly to compute on every request and may be a few seconds old: the result count
/// of a filter set, the list of regions, and whole rendered library pages (a micro-cache: a popular page is
/// rendered once per `pageTTL` per process instead of once per request). Shared by the request threads of one
/// process (hence the `Mutex`). A new or hidden report shows in the list within `pageTTL`; counts and a new
/// region within `ttl`.
public final class LibraryCache: Sendable {
    private struct Entry<Value> {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var counts: [String: Entry<Int>] = [:]
        var regions: Entry<[String]>?
        var pages: [String: Entry<String>] = [:]
        var pageBytes = 0
    }

    private let state = Mutex(State())
    private let ttl: Duration
    private let pageTTL: Duration
    private let maxCounts = 2_000
    private let maxPageBytes = 16 << 20

    /// A cache whose counts and regions live `ttl` (default 10 seconds) and pages `pageTTL` (default 5 seconds).
    public init(ttl: Duration = .seconds(10), pageTTL: Duration = .seconds(5)) {
        self.ttl = ttl
        self.pageTTL = pageTTL
    }

    /// The rendered page for `key` if it is fresh, else `render()`'s (rendered outside the lock, remembered).
    func page(key: String, render: () throws -> String) rethrows -> String {
        let now = ContinuousClock.now
        if let hit = state.withLock({ $0.pages[key] }), hit.expires > now { return hit.value }
        let html = try render()
        let expires = now + pageTTL
        state.withLock { state in
            if state.pageBytes + html.utf8.count > maxPageBytes {
                state.pages.removeAll(keepingCapacity: true)
                state.pageBytes = 0
            }
            state.pageBytes += html.utf8.count - (state.pages[key]?.value.utf8.count ?? 0)
            state.pages[key] = Entry(value: html, expires: expires)
        }
        return html
    }

    /// The cached count for `key`, or `compute()`'s answer (computed outside the lock and remembered).
    func count(key: String, compute: () throws -> Int) rethrows -> Int {
        let now = ContinuousClock.now
        if let hit = state.withLock({ $0.counts[key] }), hit.expires > now { return hit.value }
        let value = try compute()
        let expires = now + ttl
        state.withLock { state in
            if state.counts.count >= maxCounts { state.counts.removeAll(keepingCapacity: true) }
            state.counts[key] = Entry(value: value, expires: expires)
        }
        return value
    }

    /// The cached region list, or `compute()`'s answer.
    func regions(compute: () throws -> [String]) rethrows -> [String] {
        let now = ContinuousClock.now
        if let hit = state.withLock({ $0.regions }), hit.expires > now { return hit.value }
        let value = try compute()
        let expires = now + ttl
        state.withLock { $0.regions = Entry(value: value, expires: expires) }
        return value
    }
}
