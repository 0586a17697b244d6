import Testing
@testable import MarketLens

/// What `marketlens doctor` adds up: each place a worker opens connections, bounded by its setting.
@Suite struct ConnectionBudgetTests {
    @Test("defaults: 10 pooled + 2 monitor + 2 replay + 1 listen per worker, two workers and 5 for the CLI")
    func defaults() throws {
        let budget = try AppConfiguration(environment: [:]).connections
        #expect(budget.perWorker == 15)
        #expect(budget.total == 35)
        #expect(budget.fits(in: ServerConnectionLimit(maxConnections: 38, reserved: 3)))
        #expect(!budget.fits(in: ServerConnectionLimit(maxConnections: 37, reserved: 3)))
    }

    @Test("the settings move it; the pool is never larger than the threads that could use it; batches cost none")
    func settings() throws {
        let budget = try AppConfiguration(environment: [
            "MARKETLENS_WORKERS": "4", "MARKETLENS_THREADS": "6", "MARKETLENS_DB_CONNECTIONS": "20",
            "MARKETLENS_MONITOR_DB_CONNECTIONS": "3", "MARKETLENS_REPLAY_THREADS": "1",
            "MARKETLENS_BATCH_MAX_ACTIVE": "2",
        ]).connections
        #expect(budget.requestPool == 6)
        #expect(budget.perWorker == 6 + 3 + 1 + 1)
        #expect(budget.total == 4 * 11 + 5)
    }

    @Test(arguments: ["MARKETLENS_DB_CONNECTIONS", "MARKETLENS_MONITOR_DB_CONNECTIONS"])
    func invalidValuesNameTheVariable(name: String) {
        #expect {
            try AppConfiguration(environment: [name: "0"])
        } throws: { error in
            (error as? ConfigurationError)?.variable == name
        }
    }
}
