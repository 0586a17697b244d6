import Foundation
import Logging
import Postgres
import Testing
import TestSupport
@testable import MarketLens

@Suite("API keys")
struct APIKeyTests {
    @Test func aKeyIsLongRandomPrefixedAndStoredOnlyAsItsHash() {
        let keys = (0..<50).map { _ in APIKeySecret.generate() }
        #expect(Set(keys.map(\.value)).count == 50)
        for key in keys {
            #expect(key.value.hasPrefix("mlk_") && key.value.utf8.count == 45)
            #expect(APIKeySecret(presented: key.value) == key)
            #expect(key.value.hasPrefix("mlk_" + key.publicID + "_"))
            #expect(key.hash.count == 32)
        }
        let one = keys[0].value
        #expect(APIKeySecret(presented: String(one.dropLast())) == nil)
        #expect(APIKeySecret(presented: one + "a") == nil)
        #expect(APIKeySecret(presented: "mlk_ABCDEFGH_" + String(one.suffix(32))) == nil)  // upper-case id
        #expect(APIKeySecret(presented: ManageToken.generate().value) == nil)
        #expect(APIKeySecret.looksLikeKey("mlk_anything") && !APIKeySecret.looksLikeKey(ManageToken.generate().value))
    }

    @Test func aKeyHasItsOwnBucketsAndLimitsAndTheGlobalLimitStillHolds() throws {
        let configuration = try AppConfiguration(environment: [
            "MAX_REPORTS_PER_CLIENT_PER_HOUR": "2", "MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR": "3"])
        let key = APIKey(publicID: "ab12cd34", name: "partner", reportsPerHour: 40, batchRunsPerHour: 500,
                         createdAt: Date())
        let anonymous = RateLimit.reportCreation(for: .address("203.0.113.7"), configuration: configuration)
        let keyed = RateLimit.reportCreation(for: .key(key), configuration: configuration)
        #expect(anonymous.map(\.limit) == [100, 2] && keyed.map(\.limit) == [100, 40])
        #expect(anonymous[0].bucket == keyed[0].bucket)          // one global bucket for everyone
        #expect(keyed[1].bucket == "reports:key:ab12cd34" && anonymous[1].bucket != keyed[1].bucket)
        #expect(!anonymous[1].bucket.contains("203.0.113.7"))
        let runs = RateLimit.batchCreation(domains: 4, for: .key(key), configuration: configuration)
        #expect(runs.map(\.limit) == [2_000, 500] && runs.allSatisfy { $0.cost == 4 })
        #expect(RateLimit.batchCreation(domains: 4, client: "203.0.113.7", configuration: configuration)[1].limit == 3)
        #expect(RateLimit.validationChecks(for: .key(key), configuration: configuration)[0].bucket
                == "validate:key:ab12cd34")
    }
}

@Suite("The API key store (PostgreSQL)", .enabled(if: TestDatabase.isEnabled))
struct APIKeyStoreTests {
    @Test func createFindRevokeAndList() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let (key, secret) = try APIKeyStore.create(name: "partner one", reportsPerHour: 7, batchRunsPerHour: 9,
                                                       on: connection)
            #expect(key.publicID == secret.publicID && key.lastUsedAt == nil && key.revokedAt == nil)
            #expect(throws: APIKeyStore.CreateError.nameTaken) {
                try APIKeyStore.create(name: "partner one", reportsPerHour: 1, batchRunsPerHour: 1, on: connection)
            }
            let stored = try #require(try connection.queryFirst("SELECT key_hash FROM api_keys"))
            #expect(try stored.bytes("key_hash") == secret.hash)
            let dump = try connection.query("SELECT row_to_json(k)::text AS row FROM api_keys k")
            #expect(try dump.allSatisfy { !(try $0.string("row")).contains(secret.value) })

            let found = try #require(try APIKeyStore.find(secret, on: connection))
            #expect(found.name == "partner one" && found.reportsPerHour == 7 && found.batchRunsPerHour == 9)
            #expect(try APIKeyStore.list(on: connection).first?.lastUsedAt != nil)
            #expect(try APIKeyStore.find(APIKeySecret.generate(), on: connection) == nil)

            #expect(try APIKeyStore.revoke("nobody", on: connection) == nil)
            let revoked = try #require(try APIKeyStore.revoke(key.prefix, on: connection))
            #expect(revoked.revokedAt != nil)
            #expect(try APIKeyStore.revoke("partner one", on: connection)?.revokedAt == revoked.revokedAt)
            #expect(try APIKeyStore.find(secret, on: connection)?.revokedAt != nil)  // found, and refused by the gate

            let (leaked, leakedSecret) = try APIKeyStore.create(name: "leaked", reportsPerHour: 1, batchRunsPerHour: 1,
                                                               on: connection)
            #expect(try APIKeyStore.revoke(APIKeySecret.generate().value, on: connection) == nil)
            #expect(try APIKeyStore.revoke(leakedSecret.value, on: connection)?.name == leaked.name)
            #expect(try APIKeyStore.list(on: connection).allSatisfy { $0.revokedAt != nil })
        }
    }
}

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test func everyLineIsOneJSONObjectWithTheCommonFieldsFirst() throws {
        let line = JSONLogHandler.line(
            time: Date(timeIntervalSince1970: 1_700_000_000.25), level: .info, message: "request \"x\"\nnext",
            label: "marketlens.worker",
            metadata: ["status": "401", "duration_ms": "12", "worker": "1", "request_id": "abc",
                       "route": "/api/v1/reports/:id", "api_key": "partner", "path": "/a\u{1}b\u{2028}",
                       "nested": ["list": ["a", "b"]], "level": "spoofed"])
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        #expect(line.hasPrefix(#"{"time":"2023-11-14T22:13:20.250Z","level":"info","message":"request \"x\"\nnext""#))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["status"] as? Int == 401 && object["duration_ms"] as? Int == 12 && object["worker"] as? Int == 1)
        #expect(object["route"] as? String == "/api/v1/reports/:id" && object["api_key"] as? String == "partner")
        #expect(object["path"] as? String == "/a\u{1}b\u{2028}" && object["level"] as? String == "info")
        #expect(object["logger"] as? String == "marketlens.worker")
        #expect((object["nested"] as? [String: Any])?["list"] as? [String] == ["a", "b"])
    }

    @Test func theHandlerMergesItsMetadataAndHonoursItsLevel() throws {
        let lines = LockedLines()
        var handler = JSONLogHandler(label: "test") { lines.append($0) }
        handler.logLevel = .info
        handler[metadataKey: "worker"] = "3"
        let logger = Logger(label: "test") { _ in handler }
        logger.debug("hidden")
        logger.info("shown", metadata: ["request_id": "r1"])
        let all = lines.all
        #expect(all.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(all[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == "shown" && object["worker"] as? Int == 3)
        #expect(object["request_id"] as? String == "r1")
    }
}

/// Lines a handler wrote, collected across threads.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
