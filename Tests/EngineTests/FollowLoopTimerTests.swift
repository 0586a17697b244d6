import Engine
import Foundation
import Logging
import Testing

/// The follow loop's timers without a database or a network: they fire in deadline order, and a cancelled key's
/// timers never fire, not even after the key is followed again.
@Suite("FollowLoop timers")
struct FollowLoopTimerTests {
    /// The key of test work `id`.
    static func key(_ id: Int64) -> FollowKey { FollowKey("test", id) }

    /// Work that does nothing by itself: the test schedules its timers.
    final class Idle: FollowedWork {
        func start(on loop: FollowLoop) {}
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() throws {
        // No job is ever stored, so the lanes never connect.
        let lanes = DatabaseLanes(url: "postgresql://127.0.0.1:1/none", count: 1, logger: Logger(label: "test"))
        defer { lanes.close() }
        let loop = try FollowLoop(lanes: lanes, logger: Logger(label: "test"), maxWait: 0.02)
        var fired: [String] = []
        for key: Int64 in [1, 2, 3] { loop.follow(Self.key(key), Idle()) }
        loop.after(Self.key(1), seconds: 0.30) { fired.append("a") }
        loop.after(Self.key(2), seconds: 0.10) { fired.append("b") }
        loop.after(Self.key(3), seconds: 0.20) { fired.append("cancelled") }
        loop.after(Self.key(1), seconds: 0.05) { fired.append("d") }
        loop.after(Self.key(2), seconds: 0.40) { fired.append("cancelled too") }
        loop.cancel(Self.key(3))
        loop.follow(Self.key(3), Idle())
        loop.after(Self.key(3), seconds: 0.25) { fired.append("e") }
        loop.after(Self.key(1), seconds: 0.35) {
            fired.append("f")
            loop.cancel(Self.key(2))
        }
        let end = FollowLoop.now() + 0.8
        while FollowLoop.now() < end { loop.pass() }
        #expect(fired == ["d", "b", "e", "a", "f"])
    }

    @Test func manyTimersOfManyKeysFireEachOnce() throws {
        let lanes = DatabaseLanes(url: "postgresql://127.0.0.1:1/none", count: 1, logger: Logger(label: "test"))
        defer { lanes.close() }
        let loop = try FollowLoop(lanes: lanes, logger: Logger(label: "test"), maxWait: 0.02)
        var fired: [Int64: Int] = [:]
        for key: Int64 in 0..<3000 {
            loop.follow(Self.key(key), Idle())
            let delay = Double(key % 97) / 1000
            loop.after(Self.key(key), seconds: delay) { fired[key, default: 0] += 1 }
            if key % 10 == 0 { loop.cancel(Self.key(key)) }
        }
        let end = FollowLoop.now() + 0.5
        while FollowLoop.now() < end { loop.pass() }
        #expect(fired.count == 2700 && fired.values.allSatisfy { $0 == 1 })
    }
}
