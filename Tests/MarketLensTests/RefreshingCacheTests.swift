import Foundation
@testable import MarketLens
import Testing

@Suite struct RefreshingCacheTests {
    @Test func anExpiredValueIsRecomputedOnceWhileOthersGetTheOldOne() throws {
        let cache = RefreshingCache<Int>(ttl: .milliseconds(30))
        #expect(cache.value(key: "k") { 1 } == 1)
        Thread.sleep(forTimeInterval: 0.05)
        let computing = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let refreshed = Mutex2<Int?>(nil)
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
        var alsoComputed = false
        #expect(cache.value(key: "k") { alsoComputed = true; return 3 } == 1)
        #expect(!alsoComputed)
        release.signal()
        #expect(LiveHarness.waitUntil(timeout: 5) { refreshed.value == 2 })
        #expect(cache.value(key: "k") { 4 } == 2)
    }

    @Test func requestsForAKeyBeingComputedForTheFirstTimeWaitForThatResult() throws {
        let cache = RefreshingCache<Int>(ttl: .seconds(60))
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
        let cache = RefreshingCache<Int>(ttl: .milliseconds(10))
        #expect(cache.value(key: "k") { 1 } == 1)
        Thread.sleep(forTimeInterval: 0.03)
        #expect(throws: Down.self) { try cache.value(key: "k") { throw Down() } }
        #expect(cache.value(key: "k") { 5 } == 5)
    }

    @Test func valuesPastTheCostBoundAreDropped() {
        let cache = RefreshingCache<String>(ttl: .seconds(60), maxCost: 10) { $0.count }
        #expect(cache.value(key: "a") { "aaaaaa" } == "aaaaaa")
        #expect(cache.value(key: "b") { "bbbbbb" } == "bbbbbb")
        // Keeping both would cost 12: the cache started over with b only.
        #expect(cache.value(key: "b") { "again" } == "bbbbbb")
        #expect(cache.value(key: "a") { "fresh" } == "fresh")
    }
}
