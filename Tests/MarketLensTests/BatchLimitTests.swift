import Postgres
import Testing
import TestSupport
@testable import MarketLens

/// Every screened domain is a paid upstream run: batches are limited by the runs they would start.
@Suite(.enabled(if: TestDatabase.isEnabled, "needs TEST_DATABASE_URL"))
struct BatchLimitTests {
    static func request(_ domains: [String]) throws -> BatchRequest {
        let list = domains.map { "\"\($0)\"" }.joined(separator: ",")
        return try BatchRequest.parse(json: Array("""
            {"research_goal":"Which of these use AI for fraud detection?","company_domains":[\(list)],
             "search_depth":"quick","max_parallel_searches":5,"confidence_threshold":0.7}
            """.utf8))
    }

    @Test func aClientsRunBudgetAdmitsBatchesUpToItAndRefusesTheOneThatCrossesIt() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let configuration = try AppConfiguration(environment: ["MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR": "5"])
            func limits(_ count: Int) -> [RateLimit] {
                RateLimit.batchCreation(domains: count, client: "203.0.113.7", configuration: configuration)
            }
            _ = try BatchStore.create(try Self.request(["a.com", "b.com", "c.com"]), limits: limits(3), on: connection)
            #expect {
                try BatchStore.create(try Self.request(["d.com", "e.com", "f.com"]), limits: limits(3), on: connection)
            } throws: { error in
                (error as? RateLimitExceeded)?.scope == .batchClient
            }
            #expect(try connection.queryFirst("SELECT count(*) AS n FROM batches")?.int("n") == 1,
                    "a refused batch creates nothing")
            // The refused batch consumed nothing: 3 + 2 still fits in 5.
            _ = try BatchStore.create(try Self.request(["g.com", "h.com"]), limits: limits(2), on: connection)
            // Another client has its own budget.
            let other = RateLimit.batchCreation(domains: 4, client: "198.51.100.9", configuration: configuration)
            _ = try BatchStore.create(try Self.request(["i.com", "j.com", "k.com", "l.com"]), limits: other, on: connection)
            #expect(try connection.queryFirst("SELECT count(*) AS n FROM batches")?.int("n") == 3)
        }
    }
}
