import Foundation
import Logging
import Testing
import TestSupport
@testable import ParallelAPI

@Suite("No secret in any log line")
struct LogSecrecyTests {
    @Test func apiKeyStaysOutOfLogsAndErrors() throws {
        let key = "sk-live-very-secret-0042"
        let echo = #"{"type":"error","error":{"ref_id":"r1","message":"key sk-live-very-secret-0042 rejected"}}"#
        let server = try ScriptedServer([
            .init(status: 429, headers: [("retry-after-ms", "10")], body: echo),
            .init(status: 503, body: "<html>sk-live-very-secret-0042</html>"),
            .init(status: 401, body: echo),
        ])
        defer { server.stop() }
        let logs = LogCapture()
        let client = try ParallelClient(configuration: ParallelConfiguration(baseURL: server.baseURL, apiKey: key),
                                        logger: logs.logger)
        client.sleep = { _ in }
        var thrown: ParallelError?
        do {
            _ = try client.createRun(RunInput(input: .text("x"), processor: "lite"))
        } catch {
            thrown = error
        }
        let error = try #require(thrown)
        guard case .api(401, "r1", _, false) = error else { Issue.record("\(error)"); return }
        // The key really went out (so the test could catch a leak) ...
        #expect(server.requests.count == 3 && server.requests.allSatisfy { $0.headers["x-api-key"] == key })
        // ... but appears in no log line and no error text.
        #expect(logs.lines.count >= 2)
        for line in logs.lines + [error.description, error.debugDescription, "\(client.configuration)"] {
            #expect(!line.contains(key), "leak: \(line.replacingOccurrences(of: key, with: "<KEY>"))")
        }
    }
}
