import Foundation
@testable import MarketLens
import Testing

@Suite struct RefreshingCacheTests {
    @Test func anExpiredValueIsRecomputedOnceWhileOthersWaitForTheNewOne() throws {
        let cache = RefreshingCache<Int>(expiry: .after(.milliseconds(30)))
        #expect(cache.value(key: "k") { 1 } == 1)
        Thread.sleep(forTimeInterval: 0.05)
        let computing = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let refreshed = Mutex2<Int?>(nil)
        let waited = Mutex2<Int?>(nil)
        let refresher = Thread {
            let value = cache.value(key: "k") {
                computing.signal()
                release.wait()
                return 2
            }
            refreshed.mutate { $0 = value }
        }
        refresher.start()
        computing.wait()
        // A second request during the refresh never gets the expired 1: it waits for the refresh's 2.
        let other = Thread {
            let value = cache.value(key: "k") { 3 }
            waited.mutate { $0 = value }
        }
        other.start()
        Thread.sleep(forTimeInterval: 0.1)
        #expect(waited.value == nil)
        release.signal()
        #expect(LiveHarness.waitUntil(timeout: 5) { refreshed.value == 2 && waited.value == 2 })
    }

    @Test func valuesExpireAtTheEndOfTheSecondTheirComputationStarted() {
        let started = Date(timeIntervalSince1970: 1_700_000_000.75)
        #expect(CacheExpiry.endOfSecond.expiration(started: started) == Date(timeIntervalSince1970: 1_700_000_001))
        let whole = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(CacheExpiry.endOfSecond.expiration(started: whole) == Date(timeIntervalSince1970: 1_700_000_001))
        #expect(CacheExpiry.after(.milliseconds(500)).expiration(started: whole) == whole.addingTimeInterval(0.5))
    }

    @Test func requestsForAKeyBeingComputedForTheFirstTimeWaitForThatResult() throws {
        let cache = RefreshingCache<Int>(expiry: .after(.seconds(60)))
        let computing = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let computations = Mutex2(0)
        let results = Mutex2<[Int]>([])
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread {
                let value = cache.value(key: "cold") {
                    computations.mutate { $0 += 1 }
                    computing.signal()
                    release.wait()
                    return 42
                }
                results.mutate { $0.append(value) }
                group.leave()
            }.start()
        }
        computing.wait()
        Thread.sleep(forTimeInterval: 0.1)
        release.signal()
        #expect(group.wait(timeout: .now() + 5) == .success)
        #expect(computations.value == 1)
        #expect(results.value == Array(repeating: 42, count: 8))
    }

    @Test func aFailedRefreshLetsTheNextRequestTryAgain() {
        struct Down: Error {}
        let cache = RefreshingCache<Int>(expiry: .after(.milliseconds(10)))
        #expect(cache.value(key: "k") { 1 } == 1)
        Thread.sleep(forTimeInterval: 0.03)
        #expect(throws: Down.self) { try cache.value(key: "k") { throw Down() } }
        #expect(cache.value(key: "k") { 5 } == 5)
    }

    @Test func valuesPastTheCostBoundAreDropped() {
        let cache = RefreshingCache<String>(expiry: .after(.seconds(60)), maxCost: 10) { $0.count }
        #expect(cache.value(key: "a") { "aaaaaa" } == "aaaaaa")
        #expect(cache.value(key: "b") { "bbbbbb" } == "bbbbbb")
        // Keeping both would cost 12: the cache started over with b only.
        #expect(cache.value(key: "b") { "again" } == "bbbbbb")
        #expect(cache.value(key: "a") { "fresh" } == "fresh")
    }
}
