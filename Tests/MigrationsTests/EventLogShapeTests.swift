import Foundation
import Migrations
import Postgres
import TestSupport
import Testing

/// Migration 0009: report and batch events are appended by one function and notified by one trigger function,
/// so both logs behave the same for the relay hub (gap-free seq per owner, dedupe, `<owner id>:<seq>` on the
/// channel named like the table, after commit).
@Suite(.enabled(if: TestDatabase.isEnabled, "needs TEST_DATABASE_URL"))
struct EventLogShapeTests {
    @Test func bothLogsAppendAndNotifyTheSameWay() throws {
        // A whole database: channels are database-wide and other tests store events too.
        try TestDatabase.withDatabase { database in
            let writer = try database.connect()
            try Migrator(directory: repositoryMigrations, logger: quietLogger).migrate(on: writer)
            let listener = try database.connect()
            try listener.listen("report_events")
            try listener.listen("batch_events")
            let report = try #require(try writer.queryFirst(
                "INSERT INTO reports (public_id, title, industry, processor) VALUES ('rpt_shape1', 'T', 'I', 'ultra2x') RETURNING id"
            )?.int64("id"))
            let batch = try #require(try writer.queryFirst(
                """
                INSERT INTO batches (public_id, research_goal, search_depth, processor, max_parallel, confidence_threshold)
                VALUES ('bat_shape1', 'Goal', 'quick', 'lite', 5, 0.7) RETURNING id
                """)?.int64("id"))
            var seqs: [Int?] = []
            try writer.transaction { tx in
                for (function, owner) in [("append_report_event", report), ("append_batch_event", batch)] {
                    for key in ["a", "b", "a"] {
                        seqs.append(try tx.queryFirst(
                            "SELECT \(unescaped: function)(\(owner), 'message', '{}', \(key)) AS seq")?.optionalInt("seq"))
                    }
                }
                #expect(try listener.waitForNotifications(timeout: 0.2).isEmpty, "notified only on commit")
            }
            #expect(seqs == [1, 2, nil, 1, 2, nil], "gap-free per owner, a replayed key stored once")
            var received: [String] = []
            let deadline = Date().addingTimeInterval(5)
            while received.count < 4, Date() < deadline {
                received += try listener.waitForNotifications(timeout: 1).map { "\($0.channel) \($0.payload)" }
            }
            #expect(received.sorted() == ["batch_events \(batch):1", "batch_events \(batch):2",
                                          "report_events \(report):1", "report_events \(report):2"])
            #expect(throws: PostgresError.self) {
                try writer.query("SELECT append_batch_event(999999, 'message', '{}', NULL)")
            }
        }
    }
}
