import Synchronization

/// Values that may be a few seconds old, kept per process and shared by its request threads (hence the `Mutex`).
///
/// After `ttl` a value is recomputed by the first request that finds it expired, while requests arriving during
/// that computation still get the old value: a popular key costs one computation per period instead of one per
/// concurrent request (measured with `make bench`: a searched library page under 32 connections went from a
/// p99 of ~1 s, every request missing at once on expiry, to that of a cache hit).
final class RefreshingCache<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
        var cost: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var refreshing: Set<String> = []
        var totalCost = 0
    }

    private enum Plan {
        case use(Value)
        case compute(refresh: Bool)
    }

    private let state = Mutex(State())
    private let ttl: Duration
    private let maxCost: Int
    private let cost: @Sendable (Value) -> Int

    /// Values live `ttl`; when the costs of the kept values would pass `maxCost`, all are dropped.
    init(ttl: Duration, maxCost: Int = .max, cost: @escaping @Sendable (Value) -> Int = { _ in 1 }) {
        self.ttl = ttl
        self.maxCost = maxCost
        self.cost = cost
    }

    /// The value for `key`: fresh from the cache, stale while another request recomputes it, or `compute()`'s
    /// (run outside the lock, then kept).
    func value(key: String, compute: () throws -> Value) rethrows -> Value {
        let now = ContinuousClock.now
        let plan = state.withLock { state -> Plan in
            guard let entry = state.entries[key] else { return .compute(refresh: false) }
            if entry.expires > now || state.refreshing.contains(key) { return .use(entry.value) }
            state.refreshing.insert(key)
            return .compute(refresh: true)
        }
        switch plan {
        case .use(let value):
            return value
        case .compute(let refresh):
            defer { if refresh { _ = state.withLock { $0.refreshing.remove(key) } } }
            let value = try compute()
            store(value, key: key, expires: ContinuousClock.now + ttl)
            return value
        }
    }

    private func store(_ value: Value, key: String, expires: ContinuousClock.Instant) {
        let added = cost(value)
        state.withLock { state in
            let replaced = state.entries[key]?.cost ?? 0
            if state.totalCost - replaced + added > maxCost {
                state.entries.removeAll(keepingCapacity: true)
                state.totalCost = 0
            } else {
                state.totalCost -= replaced
            }
            state.entries[key] = Entry(value: value, expires: expires, cost: added)
            state.totalCost += added
        }
    }
}
