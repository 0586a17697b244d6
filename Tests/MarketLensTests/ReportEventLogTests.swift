import Postgres
import Testing
import TestSupport
@testable import MarketLens

@Suite(.enabled(if: TestDatabase.isEnabled, "needs TEST_DATABASE_URL"))
struct ReportEventLogTests {
    @Test func appendsInOrderAndStoresAReplayedUpstreamEventOnce() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try MigratedDatabase.insertReport(on: connection)
            let first = try ReportEventLog.append(
                .status(.init(state: "running", message: "Research started")), to: report, dedupeKey: "state:running",
                on: connection)
            let second = try ReportEventLog.append(
                .message(.init(kind: "plan", text: "Planning <b>sources</b>", timestamp: "2026-01-10T09:00:04.512003Z")),
                to: report, dedupeKey: "msg:1", on: connection)
            let replayed = try ReportEventLog.append(
                .message(.init(kind: "plan", text: "Planning <b>sources</b>", timestamp: "2026-01-10T09:00:04.512003Z")),
                to: report, dedupeKey: "msg:1", on: connection)
            #expect(first == 1 && second == 2)
            #expect(replayed == nil, "an upstream replay must not be stored twice")

            let events = try ReportEventLog.events(of: report, after: 0, on: connection)
            #expect(events.map(\.seq) == [1, 2])
            #expect(events.map(\.type) == ["status", "message"])
            let decoded = try ReportEvent(type: events[1].type, payloadJSON: events[1].payloadJSON)
            #expect(decoded == .message(.init(kind: "plan", text: "Planning <b>sources</b>", timestamp: "2026-01-10T09:00:04.512003Z")))
            #expect(try ReportEventLog.events(of: report, after: 1, on: connection).map(\.seq) == [2])

            let stored = try #require(try ReportStore.find(publicID: try connection.queryFirst(
                "SELECT public_id FROM reports WHERE id = \(report)")?.string("public_id") ?? "", on: connection))
            #expect(stored.eventSeq == 2 && stored.status == .queued && !stored.hasEmail)
        }
    }

    @Test func payloadsAreOneLineJSONWithTheSpecifiedFieldNames() throws {
        let progress = ReportEvent.progress(
            .init(progress: 37.5, sourcesConsidered: 223, sourcesRead: 22, recentSources: ["https://example.org/a"]))
        let json = try progress.payloadJSON()
        #expect(json == #"{"progress":37.5,"recent_sources":["https://example.org/a"],"sources_considered":223,"sources_read":22}"#)
        #expect(!json.contains("\n"))
        #expect(ReportEvent.completed(.init(slug: "s", title: "t", url: "u")).isTerminal)
        #expect(!progress.isTerminal)
        #expect(try ReportEvent(type: "bogus", payloadJSON: "{}") == nil)
    }
}
