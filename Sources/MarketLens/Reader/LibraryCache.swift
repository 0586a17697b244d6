import Foundation
import Synchronization

/// Library numbers that are costly to compute on every request and may be a few seconds old: the result count
/// of a filter set and the list of regions. Shared by the request threads of one process (hence the `Mutex`).
/// A new report shows up in the list at once; only its count and a new region can lag by `ttl`.
public final class LibraryCache: Sendable {
    private struct Entry<Value> {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var counts: [String: Entry<Int>] = [:]
        var regions: Entry<[String]>?
    }

    private let state = Mutex(State())
    private let ttl: Duration
    private let maxCounts = 2_000

    /// A cache whose entries live `ttl` (default 10 seconds).
    public init(ttl: Duration = .seconds(10)) { self.ttl = ttl }

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
