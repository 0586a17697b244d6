import Foundation
import Logging
import ParallelAPI
import Postgres
import Testing
import TestSupport
@testable import MarketLens

/// The outbox sends in batches (`POST /emails/batch`) and keeps exactly-once: a batch whose answer was lost is
/// sent again whole under its key, and the simulator (like Resend) replays instead of sending twice.
@Suite("E-mail outbox batches (PostgreSQL + upstream-sim)",
       .enabled(if: TestDatabase.isEnabled && MonitorSim.available), .serialized)
struct EmailBatchTests {
    static func enqueue(_ count: Int, prefix: String = "batch-test", badAt bad: Int? = nil, on connection: Connection) throws {
        for index in 0..<count {
            try EmailOutbox.enqueue(
                reportID: nil, kind: "report_ready", key: "\(prefix)/\(index)",
                to: index == bad ? "nobody" : "reader\(index)@example.org",
                message: ReportEmail(subject: "Report \(index)", html: "<p>\(index)</p>", text: "\(index)"), on: connection)
        }
    }

    static func batchRequests(_ env: MonitorEnvironment) throws -> [JSONValue] {
        try env.sim.control("GET", "/requests?path=/emails&api=resend", resend: true)["requests"]?.arrayValue ?? []
    }

    static func references(_ outbox: [JSONValue]) -> [String] {
        outbox.compactMap { $0["email"]?["headers"]?["X-Entity-Ref-ID"]?.stringValue }
    }

    @Test func dueMessagesGoOutInBatchesOfAtMostAHundredEachOnce() throws {
        try MonitorEnvironment.with { env in
            let connection = try env.connect()
            try Self.enqueue(150, on: connection)
            let sender = try #require(try EmailOutbox.Sender(configuration: env.configuration, logger: Logger(label: "t")))
            let attempts = try sender.sendDue(limit: EmailOutbox.messagesPerPass, on: connection)
            #expect(attempts == Array(repeating: .sent, count: 150))
            let requests = try Self.batchRequests(env)
            #expect(requests.map { $0["path"]?.stringValue } == ["/emails/batch", "/emails/batch"])
            #expect(requests.map { $0["body"]?.arrayValue?.count } == [100, 50])
            let outbox = try env.sim.outbox()
            #expect(Self.references(outbox).sorted() == (0..<150).map { "batch-test/\($0)" }.sorted())
            let rows = try connection.query("SELECT status, provider_id, batch_key FROM email_outbox")
            #expect(try rows.allSatisfy { try $0.string("status") == "sent" })
            #expect(Set(try rows.map { try $0.string("provider_id") }) == Set(outbox.compactMap { $0["id"]?.stringValue }))
            #expect(Set(try rows.map { try $0.string("batch_key") }).count == 2)
            #expect(try sender.sendDue(limit: EmailOutbox.messagesPerPass, on: connection).isEmpty)
        }
    }

    @Test func aBatchWhoseAnswerWasLostIsSentAgainWholeUnderItsKey() throws {
        try MonitorEnvironment.with { env in
            let connection = try env.connect()
            try Self.enqueue(5, on: connection)
            try env.sim.fault("resend", "lost_answer;mode=5xx", count: 1)
            let sender = try #require(try EmailOutbox.Sender(configuration: env.configuration, logger: Logger(label: "t")))
            #expect(try sender.sendDue(limit: 50, on: connection) == Array(repeating: .willRetry, count: 5))
            #expect(try env.sim.outbox().count == 5)  // accepted, though the answer said 500
            // Meanwhile more mail is due: it must not join the batch being retried.
            try Self.enqueue(2, prefix: "later", on: connection)
            try connection.execute("UPDATE email_outbox SET next_attempt_at = now()")
            let attempts = try sender.sendDue(limit: 50, on: connection)
            #expect(attempts == Array(repeating: .sent, count: 7))
            let requests = try Self.batchRequests(env)
            #expect(requests.map { $0["body"]?.arrayValue?.count } == [5, 5, 2])
            let keys = requests.map { $0["headers"]?["Idempotency-Key"]?.stringValue ?? $0["headers"]?["idempotency-key"]?.stringValue }
            #expect(keys[0] != nil && keys[0] == keys[1] && keys[2] != keys[0])
            let outbox = try env.sim.outbox()
            #expect(outbox.count == 7)
            #expect(Set(Self.references(outbox)).count == 7)
            let rows = try connection.query("SELECT attempts, status FROM email_outbox WHERE idempotency_key LIKE 'batch-test/%'")
            #expect(try rows.map { try $0.int("attempts") } == [2, 2, 2, 2, 2])
        }
    }

    @Test func aRefusedMessageFailsAloneAndTheRestOfItsBatchIsSent() throws {
        try MonitorEnvironment.with { env in
            let connection = try env.connect()
            try Self.enqueue(4, badAt: 1, on: connection)
            let sender = try #require(try EmailOutbox.Sender(configuration: env.configuration, logger: Logger(label: "t")))
            #expect(try sender.sendDue(limit: 50, on: connection) == [.sent, .gaveUp, .sent, .sent])
            let failed = try connection.query("SELECT idempotency_key, batch_key FROM email_outbox WHERE status = 'failed'")
            #expect(try failed.map { try $0.string("idempotency_key") } == ["batch-test/1"])
            #expect(try failed.first?.optionalString("batch_key") == nil)  // certainly not sent: it left its batch
            #expect(try env.sim.outbox().count == 3)
            // Corrected and retried by the operator, it goes alone in a new batch; the others are not sent again.
            try connection.execute("UPDATE email_outbox SET to_address = 'reader1@example.org' WHERE status = 'failed'")
            #expect(try EmailOutbox.makeDue(all: true, on: connection) == 1)
            #expect(try sender.sendDue(limit: 50, on: connection) == [.sent])
            #expect(Self.references(try env.sim.outbox()).sorted() == (0..<4).map { "batch-test/\($0)" })
        }
    }
}
