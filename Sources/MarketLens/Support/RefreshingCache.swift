import Foundation
import Synchronization

/// Values that may be a few seconds old, kept per process and shared by its request threads (hence the `Mutex`).
///
/// After `ttl` a value is recomputed by the first request that finds it expired, while requests arriving during
/// that computation still get the old value; a key never computed before is computed by its first request while
/// the others wait for that result. So a popular key costs one computation per period, never one per concurrent
/// request (measured with `bench/run.sh`: a cold searched library page under 32 connections had a p99 of
/// 0.9 s when all of them computed it at once).
final class RefreshingCache<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
        var cost: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var refreshing: Set<String> = []
        var flights: [String: Flight] = [:]
        var totalCost = 0
    }

    private enum Plan {
        case use(Value)
        case wait(Flight)
        case compute(refresh: Bool, flight: Flight?)
    }

    /// The first computation of a key, which later requests for it wait on.
    private final class Flight: @unchecked Sendable {
        private let condition = NSCondition()
        // Guarded by `condition`.
        private var finished = false
        private var result: Value?

        func finish(_ value: Value?) {
            condition.lock()
            finished = true
            result = value
            condition.broadcast()
            condition.unlock()
        }

        /// The computed value; nil when the computation failed or took longer than `timeout`.
        func wait(timeout: TimeInterval) -> Value? {
            let deadline = Date().addingTimeInterval(timeout)
            condition.lock()
            defer { condition.unlock() }
            while !finished && condition.wait(until: deadline) {}
            return result
        }
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
            guard let entry = state.entries[key] else {
                if let flight = state.flights[key] { return .wait(flight) }
                let flight = Flight()
                state.flights[key] = flight
                return .compute(refresh: false, flight: flight)
            }
            if entry.expires > now || state.refreshing.contains(key) { return .use(entry.value) }
            state.refreshing.insert(key)
            return .compute(refresh: true, flight: nil)
        }
        switch plan {
        case .use(let value):
            return value
        case .wait(let flight):
            // A failed or stuck first computation: compute here instead.
            return try flight.wait(timeout: 10) ?? compute()
        case .compute(let refresh, let flight):
            var computed: Value?
            defer {
                flight?.finish(computed)
                state.withLock { state in
                    if refresh { state.refreshing.remove(key) }
                    if flight != nil { state.flights[key] = nil }
                }
            }
            let value = try compute()
            store(value, key: key, expires: ContinuousClock.now + ttl)
            computed = value
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
