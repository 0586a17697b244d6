import ParallelAPI
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

    /// A completion takes its event's slot in the same UPDATE that completes the row: the `completed` event comes
    /// right after the last one, the head names it, and a second completion adds nothing. Should a terminal event
    /// be there already, the slot is given back: no gap in the seqs a viewer resumes from.
    @Test func aCompletionsEventTakesTheSlotItsUpdateRaised() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let completion = ReportCompletion(baseURL: "https://reports.example.test",
                                              renderer: try ReaderFixtures.app(databaseURL: url).renderer)
            let output = RunOutput(content: .text("# Cold chains\n\nWarehouses grow [1]."))
            func eventSeqs(_ report: Int64) throws -> [Int] { try ReportEventLog.events(of: report, after: 0, on: connection).map(\.seq) }
            func head(_ report: Int64) throws -> Int? { try ReportStore.find(id: report, on: connection)?.eventSeq }

            let report = try MigratedDatabase.insertReport(on: connection)
            try ReportEventLog.append(.status(.init(state: "running", message: "Research started")), to: report,
                                      dedupeKey: "state:running", on: connection)
            guard case .completed = try completion.complete(reportID: report, result: output, on: connection) else {
                Issue.record("the report did not complete")
                return
            }
            #expect(try eventSeqs(report) == [1, 2])
            #expect(try ReportEventLog.events(of: report, after: 1, on: connection).map(\.type) == ["completed"])
            #expect(try head(report) == 2)
            #expect(try completion.complete(reportID: report, result: output, on: connection) == .alreadyFinished)
            #expect(try eventSeqs(report) == [1, 2] && head(report) == 2)

            let taken = try MigratedDatabase.insertReport(on: connection)
            try ReportEventLog.append(.failed(.init(message: "stale")), to: taken, dedupeKey: "terminal", on: connection)
            guard case .completed = try completion.complete(reportID: taken, result: output, on: connection) else {
                Issue.record("the second report did not complete")
                return
            }
            #expect(try eventSeqs(taken) == [1] && head(taken) == 1, "the unused slot was given back")
        }
    }

    /// What the monitor stores: each event once, and the row's live columns from the new ones only (the highest
    /// figures, the last non-empty source list, queued → running); nothing once the report has finished. Several
    /// runs' passes go in one call (a lane's merged write), each report's log and row kept apart.
    @Test func recordingAPassKeepsTheLiveColumnsFromTheNewEventsOnly() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let report = try MigratedDatabase.insertReport(on: connection)
            let other = try MigratedDatabase.insertReport(on: connection, industry: "Vertical farming")
            func progress(_ meter: Double, _ read: Int, _ sources: [String]) -> RunEventMapping.Mapped {
                RunEventMapping.Mapped(event: .progress(.init(progress: meter, sourcesConsidered: read * 10,
                                                              sourcesRead: read, recentSources: sources)),
                                       dedupeKey: "stats:\(meter)", marksRunning: true)
            }
            let message = RunEventMapping.Mapped(
                event: .message(.init(kind: "plan", text: "Planning", timestamp: "t1")), dedupeKey: "msg:1",
                marksRunning: true)
            func record(_ passes: (Int64, [RunEventMapping.Mapped])...) throws -> [Int?] {
                try ReportProgress.record(passes.map { ReportProgress.Events(reportID: $0.0, events: $0.1) },
                                          on: connection)
            }
            #expect(try record((report, [progress(40, 4, ["https://a.example/1"]), message]),
                               (other, [message, progress(70, 7, ["https://b.example/1"])])) == [1, 2, 1, 2])
            // A replay of the first pass plus newer figures that are lower than the replayed ones (out of order
            // upstream) and carry no sources: only the new event counts, and it lowers nothing.
            #expect(try record((report, [progress(40, 4, ["https://a.example/1"]), message, progress(30, 3, [])]))
                    == [nil, nil, 3])
            func row(_ id: Int64) throws -> Row {
                try #require(try connection.queryFirst(
                    """
                    SELECT status, progress_meter::float8 AS meter, sources_considered, sources_read,
                           recent_sources::text AS recent, started_at IS NOT NULL AS started, event_seq
                    FROM reports WHERE id = \(id)
                    """))
            }
            let first = try row(report)
            #expect(try first.string("status") == "running" && first.bool("started"))
            #expect(try first.double("meter") == 40 && first.int("sources_considered") == 40 && first.int("sources_read") == 4)
            #expect(try first.string("recent") == #"["https://a.example/1"]"#)
            #expect(try first.int("event_seq") == 3)
            let second = try row(other)
            #expect(try second.double("meter") == 70 && second.int("sources_read") == 7 && second.int("event_seq") == 2)
            #expect(try second.string("recent") == #"["https://b.example/1"]"#)

            // Once a report has finished nothing more is stored for it, while the other's events still are.
            try connection.execute("UPDATE reports SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL WHERE id = \(report)")
            #expect(try record((report, [progress(90, 9, [])]), (other, [progress(80, 8, [])])) == [nil, 3])
            #expect(try ReportEventLog.events(of: report, after: 0, on: connection).count == 3)
            #expect(try ReportEventLog.events(of: other, after: 0, on: connection).count == 3)
            #expect(try row(report).double("meter") == 40 && row(other).double("meter") == 80)
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
