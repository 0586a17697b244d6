import Foundation
import Logging
import ParallelAPI
import Postgres
import Testing
import TestSupport
@testable import MarketLens

@Suite("Report creation against PostgreSQL", .enabled(if: TestDatabase.isEnabled))
struct ReportCreationDatabaseTests {
    /// 20 threads race for 5 slots: exactly 5 reports exist afterwards and the counter says 5.
    @Test func concurrentCreationsNeverOverAdmit() throws {
        try MigratedDatabase.with { url in
            let limits = [RateLimit(bucket: "reports:all", limit: 100, scope: .global),
                          RateLimit(bucket: "reports:client:race", limit: 5, scope: .client)]
            let admitted = Tally()
            let refused = Tally()
            let failures = Tally()
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            for index in 0..<20 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    do {
                        let connection = try Connection(url: url)
                        start.wait()
                        try connection.transaction { connection in
                            try RateLimiter.consume(limits, on: connection)
                            try connection.execute(
                                """
                                INSERT INTO reports (public_id, title, industry, processor)
                                VALUES (\(ReportStore.newPublicID()), 'T', \("Industry \(index)"), 'lite')
                                """)
                        }
                        admitted.add()
                    } catch let error as RateLimitExceeded {
                        if error.scope == .client && (1...3600).contains(error.retryAfter) {
                            refused.add()
                        } else {
                            failures.add()
                        }
                    } catch {
                        failures.add()
                    }
                }.start()
            }
            Thread.sleep(forTimeInterval: 0.3)
            for _ in 0..<20 { start.signal() }
            group.wait()
            #expect(failures.value == 0)
            #expect(admitted.value == 5)
            #expect(refused.value == 15)
            let connection = try Connection(url: url)
            #expect(try connection.queryFirst("SELECT count(*)::int AS n FROM reports")?.int("n") == 5)
            let counts = try connection.query("SELECT bucket, count FROM rate_limits ORDER BY bucket")
            #expect(try counts.map { try $0.string("bucket") } == ["reports:all", "reports:client:race"])
            #expect(try counts.map { try $0.int("count") } == [5, 5])
        }
    }

    @Test func checkCountsNothingAndZeroAdmitsNone() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let limit = [RateLimit(bucket: "b", limit: 1, scope: .client)]
            try RateLimiter.check(limit, on: connection)
            try RateLimiter.check(limit, on: connection)
            try connection.transaction { try RateLimiter.consume(limit, on: $0) }
            #expect(throws: RateLimitExceeded.self) { try RateLimiter.check(limit, on: connection) }
            #expect(throws: RateLimitExceeded.self) {
                try connection.transaction { try RateLimiter.consume(limit, on: $0) }
            }
            // The refused attempt was rolled back with its transaction.
            #expect(try connection.queryFirst("SELECT count FROM rate_limits WHERE bucket = 'b'")?.int("count") == 1)
            let none = [RateLimit(bucket: "zero", limit: 0, scope: .global)]
            #expect(throws: RateLimitExceeded.self) {
                try connection.transaction { try RateLimiter.consume(none, on: $0) }
            }
        }
    }

    @Test func cachedVerdictsAreUsedUntilTheyExpire() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let checker = InputChecker(model: "speed", timeout: 1, logger: Logger(label: "test"))
            let request = ResearchRequest(industry: "Solar panels", region: "EU", focus: "", email: nil,
                                          visibility: .listed)
            let key = try checker.cacheKey(for: request, on: connection)
            let verdict = ValidationVerdict(isValid: false, reasoning: "Cached no", issuesFound: ["x"])
            try connection.execute(
                "INSERT INTO validation_cache (key_hash, verdict) VALUES (\(key), \(try PostgresJSON(encoding: verdict)))")

            let noClient: () throws -> ParallelClient = { throw HarnessError("the chat must not be called") }
            var chatAttempted = false
            // The same request with other case and spacing hits the same entry.
            let same = ResearchRequest(industry: "solar   PANELS", region: "eu", focus: "", email: nil,
                                       visibility: .unlisted)
            let hit = try checker.verdict(for: same, connection: connection, client: noClient) { chatAttempted = true }
            #expect(hit.cached)
            #expect(hit.verdict == verdict)
            #expect(!chatAttempted)

            // Another model is another key; an expired entry is not used (the chat is asked, here refused).
            var other = checker
            other.model = "lite"
            #expect(try other.cacheKey(for: request, on: connection) != key)
            try connection.execute("UPDATE validation_cache SET created_at = now() - interval '8 days'")
            #expect(throws: InputCheckUnavailable.self) {
                _ = try checker.verdict(for: request, connection: connection, client: noClient) { chatAttempted = true }
            }
            #expect(chatAttempted)
        }
    }

    @Test func identicalLookupOffersOnlyRecentPublicVisibleCompletedReports() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let request = ResearchRequest(industry: "Cold-chain logistics", region: "", focus: "", email: nil,
                                          visibility: .listed)
            func insert(_ id: String, status: String = "completed", visibility: String = "public",
                        hidden: Bool = false, age: Int = 1, industry: String = "cold-chain  LOGISTICS") throws {
                let completed = status == "completed"
                try connection.execute(
                    """
                    INSERT INTO reports (public_id, title, industry, processor, status, content, slug, completed_at,
                                         visibility, hidden, error)
                    VALUES (\(id), 'T', \(industry), 'lite', \(status), \(completed ? "# R" : nil),
                            \(completed ? id.replacingOccurrences(of: "_", with: "-") : nil),
                            now() - \(age) * interval '1 day', \(visibility), \(hidden),
                            \(status == "failed" ? "boom" : nil))
                    """)
            }
            try insert("rpt_old1", age: 31)
            try insert("rpt_unlisted", visibility: "unlisted")
            try insert("rpt_hidden", hidden: true)
            try insert("rpt_failed", status: "failed")
            try insert("rpt_other", industry: "Cold-chain logistics software")
            let window = ReportCreator.identicalWindowDays
            #expect(try ReportStore.findIdentical(request, withinDays: window, on: connection) == nil)
            try insert("rpt_good1", age: 3)
            try insert("rpt_good2", age: 2)
            let found = try #require(try ReportStore.findIdentical(request, withinDays: window, on: connection))
            #expect(found.publicID == "rpt_good2")
            #expect(found.slug == "rpt-good2")
        }
    }
}

/// A thread-safe counter.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
