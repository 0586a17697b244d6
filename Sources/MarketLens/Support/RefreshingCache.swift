import Foundation
import Synchronization

/// How long a `RefreshingCache` keeps a computed value.
enum CacheExpiry: Sendable {
    /// Until the end of the wall-clock second in which the computation started.
    case endOfSecond
    /// For a fixed time from the start of the computation (tests).
    case after(Duration)

    /// When a value whose computation started at `started` expires.
    func expiration(started: Date) -> Date {
        switch self {
        case .endOfSecond:
            return Date(timeIntervalSince1970: (started.timeIntervalSince1970).rounded(.down) + 1)
        case .after(let duration):
            let components = duration.components
            return started.addingTimeInterval(
                Double(components.seconds) + Double(components.attoseconds) / 1e18)
        }
    }
}

/// Values that may be up to a second old, kept per process and shared by its request threads (hence the `Mutex`).
///
/// A value lives until the end of the wall-clock second in which its computation started (`CacheExpiry.endOfSecond`,
/// the default), which is exactly when nginx's page cache lets a page rendered from it go (the app marks cacheable
/// pages `X-Accel-Expires: @<that second>`, see `SharedCacheExpiry`): the two caches expire together, so a change
/// to a report shows on every page within a second instead of the sum of two ages. An expired or missing value
/// is computed by the first request that needs it while the others wait for that result, never served stale: a
/// popular key costs one computation per period, never one per concurrent request (measured with
/// `bench/run.sh`: a cold searched library page under 32 connections had a p99 of 0.9 s when all of them
/// computed it at once).
final class RefreshingCache<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: Date
        var cost: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var flights: [String: Flight] = [:]
        var totalCost = 0
    }

    private enum Plan {
        case use(Value)
        case wait(Flight)
        case compute(Flight)
    }

    /// A computation in progress, which other requests for the same key wait on.
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
    private let expiry: CacheExpiry
    private let maxCost: Int
    private let cost: @Sendable (Value) -> Int

    /// Values live as `expiry` says; when the costs of the kept values would pass `maxCost`, all are dropped.
    init(expiry: CacheExpiry = .endOfSecond, maxCost: Int = .max,
         cost: @escaping @Sendable (Value) -> Int = { _ in 1 }) {
        self.expiry = expiry
        self.maxCost = maxCost
        self.cost = cost
    }

    /// The value for `key`: fresh from the cache, or `compute()`'s (run outside the lock by one request while
    /// the others for the same key wait for it, then kept).
    func value(key: String, compute: () throws -> Value) rethrows -> Value {
        let now = Date()
        let plan = state.withLock { state -> Plan in
            if let entry = state.entries[key], entry.expires > now { return .use(entry.value) }
            if let flight = state.flights[key] { return .wait(flight) }
            let flight = Flight()
            state.flights[key] = flight
            return .compute(flight)
        }
        switch plan {
        case .use(let value):
            return value
        case .wait(let flight):
            // A failed or stuck computation: compute here instead.
            return try flight.wait(timeout: 10) ?? compute()
        case .compute(let flight):
            var computed: Value?
            defer {
                flight.finish(computed)
                state.withLock { $0.flights[key] = nil }
            }
            let started = Date()
            let value = try compute()
            store(value, key: key, expires: expiry.expiration(started: started))
            computed = value
            return value
        }
    }

    private func store(_ value: Value, key: String, expires: Date) {
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
