import Foundation
import Postgres
import Testing
import TestSupport
@testable import MarketLens

@Suite("Manage tokens")
struct ManageTokenTests {
    @Test func aTokenIsLongRandomURLSafeAndStoredOnlyAsItsHash() {
        let tokens = (0..<50).map { _ in ManageToken.generate() }
        #expect(Set(tokens.map(\.value)).count == 50)
        for token in tokens {
            #expect(token.value.utf8.count == 32)  // 24 random bytes = 192 bits
            #expect(ManageToken(presented: token.value) == token)
            #expect(token.hash.count == 32 && token.hash != Array(token.value.utf8.prefix(32)))
        }
        #expect(tokens[0].url(baseURL: "https://example.org/") == "https://example.org/manage/\(tokens[0].value)")
    }

    @Test func onlyAWellFormedBearerTokenIsAccepted() {
        let token = ManageToken.generate()
        #expect(ManageToken.bearer("Bearer \(token.value)") == token)
        #expect(ManageToken.bearer("bearer  \(token.value) ") == token)
        #expect(ManageToken.bearer(nil) == nil)
        #expect(ManageToken.bearer(token.value) == nil)
        #expect(ManageToken.bearer("Basic \(token.value)") == nil)
        #expect(ManageToken.bearer("Bearer short") == nil)
        #expect(ManageToken(presented: String(repeating: "a", count: 31) + "/") == nil)
        #expect(ManageToken(presented: String(repeating: "é", count: 16)) == nil)
    }
}

@Suite("The report store's owner controls and erasure (PostgreSQL)", .enabled(if: TestDatabase.isEnabled))
struct OwnerStoreTests {
    static func insert(_ connection: Connection, email: String? = "owner@example.com") throws -> (Report, ManageToken) {
        let token = ManageToken.generate()
        let request = ResearchRequest(industry: "Solar panels", region: "EU", focus: "rooftops", email: email,
                                      visibility: .listed)
        let publicID = ReportStore.newPublicID()
        let id = try ReportStore.insert(request, publicID: publicID, processor: "lite", token: token, on: connection)
        return (try #require(try ReportStore.find(id: id, on: connection)), token)
    }

    @Test func aTokenFindsOnlyItsOwnReportAndARetryKeepsTheOwner() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let (mine, token) = try Self.insert(connection)
            let (other, otherToken) = try Self.insert(connection)
            #expect(try ReportStore.find(publicID: mine.publicID, token: token, on: connection)?.id == mine.id)
            #expect(try ReportStore.find(publicID: mine.publicID, token: otherToken, on: connection) == nil)
            #expect(try ReportStore.find(publicID: other.publicID, token: token, on: connection) == nil)
            let stored = try #require(try connection.queryFirst(
                "SELECT manage_token_hash, mail_token FROM reports WHERE id = \(mine.id)"))
            #expect(try stored.bytes("manage_token_hash") == token.hash)
            #expect(try stored.optionalString("mail_token") == token.value)  // owed to the e-mail, until sent

            #expect(try ReportStore.insertRetry(of: mine.id, publicID: ReportStore.newPublicID(), on: connection) == nil)
            let failed = try #require(try ReportStore.finish(reportID: mine.id, as: .failed, message: "No",
                                                             on: connection))
            #expect(failed.mailToken == token.value && failed.email == "owner@example.com")
            #expect(try ReportStore.finish(reportID: mine.id, as: .failed, message: "No", on: connection) == nil)
            let retry = try #require(try ReportStore.insertRetry(of: mine.id, publicID: ReportStore.newPublicID(),
                                                                on: connection))
            #expect(try ReportStore.latest(managedBy: token, on: connection)?.id == retry.id)
            #expect(try ReportStore.find(publicID: retry.publicID, token: token, on: connection) != nil)
            #expect(retry.hasEmail)
        }
    }

    @Test func deletingLeavesATombstoneWithNothingInIt() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let (report, _) = try Self.insert(connection)
            try ReportEventLog.append(.status(.init(state: "queued", message: "Queued")), to: report.id,
                                      dedupeKey: nil, on: connection)
            #expect(try ReportStore.delete(reportID: report.id, on: connection))
            #expect(try !ReportStore.delete(reportID: report.id, on: connection))
            let gone = try #require(try ReportStore.find(id: report.id, on: connection))
            #expect(gone.isDeleted && gone.hidden && !gone.isListed && !gone.hasEmail && gone.focus.isEmpty)
            #expect(gone.status == .cancelled)
            #expect(try ReportEventLog.events(of: report.id, after: 0, on: connection).isEmpty)
        }
    }

    @Test func addressesAreErasedOnlyAfterTheRetentionPeriod() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let (old, _) = try Self.insert(connection)
            let (recent, _) = try Self.insert(connection)
            let (running, _) = try Self.insert(connection)
            for report in [old, recent] {
                _ = try ReportStore.finish(reportID: report.id, as: .failed, message: "No", on: connection)
                try connection.execute(
                    """
                    INSERT INTO email_outbox (report_id, kind, idempotency_key, to_address, subject, html_body,
                                              text_body, status, sent_at)
                    VALUES (\(report.id), 'report_failed', \("k-\(report.publicID)"), 'owner@example.com', 'S',
                            'link', 'link', 'sent', now())
                    """)
            }
            try connection.execute(
                "UPDATE email_outbox SET sent_at = now() - interval '31 days' WHERE report_id = \(old.id)")
            try connection.execute("UPDATE reports SET created_at = now() - interval '40 days' WHERE id = \(running.id)")
            let counts = try AddressErasure.run(days: 30, on: connection)
            #expect(counts.reports == 1 && counts.emails == 1)
            #expect(try ReportStore.find(id: old.id, on: connection)?.hasEmail == false)
            #expect(try ReportStore.find(id: recent.id, on: connection)?.hasEmail == true)
            #expect(try ReportStore.find(id: running.id, on: connection)?.hasEmail == true)
            let erased = try #require(try connection.queryFirst(
                "SELECT to_address, text_body FROM email_outbox WHERE report_id = \(old.id)"))
            #expect(try erased.optionalString("to_address") == nil && erased.string("text_body").isEmpty)
            #expect(try AddressErasure.run(days: 30, on: connection) == AddressErasure.Counts())
        }
    }

    @Test func concurrentClaimsOfOneIdempotencyKeyLetOneThrough() throws {
        try MigratedDatabase.with { url in
            let keys = IdempotencyKeys(scope: "test", wait: 10)
            let fresh = Tally()
            let replays = Tally()
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            for _ in 0..<6 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    guard let connection = try? Connection(url: url) else { return }
                    start.wait()
                    switch try? keys.claim(key: "k1", body: Array("body".utf8), connection: { connection }) {
                    case .fresh?:
                        fresh.add()
                        Thread.sleep(forTimeInterval: 0.3)
                        try? keys.answer(key: "k1", status: 202, headers: ["Content-Type": "application/json"],
                                         body: "{}", resourceID: nil, on: connection)
                    case .replay(202, _, "{}", nil)?:
                        replays.add()
                    default:
                        break
                    }
                }.start()
            }
            for _ in 0..<6 { start.signal() }
            group.wait()
            #expect(fresh.value == 1 && replays.value == 5)
            let connection = try Connection(url: url)
            #expect(try keys.claim(key: "k1", body: Array("other".utf8), connection: { connection }) == .mismatch)
            #expect(try keys.claim(key: "k2", body: [], connection: { connection }) == .fresh)
            try keys.release(key: "k2", on: connection)
            #expect(try keys.claim(key: "k2", body: [], connection: { connection }) == .fresh)
        }
    }
}
