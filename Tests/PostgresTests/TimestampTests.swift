import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Timestamps", .enabled(if: TestDatabase.isEnabled))
struct TimestampTests {
    @Test("dates round-trip with microsecond precision across eras", arguments: [
        0.0, 1_700_000_000.123456, -1_000_000_000.5, 951_782_400.000001, 4_102_444_800.999999, 1_582_934_400,
    ])
    func roundTrip(_ seconds: Double) throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let date = Date(timeIntervalSince1970: seconds)
            let row = try #require(try connection.queryFirst(
                "SELECT \(date) AS d, extract(epoch FROM \(date))::text AS epoch"))
            let back = try row.date("d")
            #expect(abs(back.timeIntervalSince1970 - seconds) < 0.000_001)
            #expect(abs((Double(try row.string("epoch")) ?? .nan) - seconds) < 0.000_001)
        }
    }

    @Test("the session time zone does not change the instant read back")
    func timeZoneIndependent() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("SET TIME ZONE 'Asia/Kolkata'")
            let row = try #require(try connection.queryFirst(
                "SELECT '2024-02-29 23:59:59.5+00'::timestamptz AS leap, '2024-01-01 00:00:00'::timestamp AS plain, '2024-03-01'::date AS day"))
            #expect(try row.date("leap") == Date(timeIntervalSince1970: 1_709_251_199.5))
            #expect(try row.date("plain") == Date(timeIntervalSince1970: 1_704_067_200))
            #expect(try row.date("day") == Date(timeIntervalSince1970: 1_709_251_200))
            let now = Date()
            let stored = try #require(try connection.queryFirst("SELECT \(now) AS at, now() AS server"))
            #expect(abs(try stored.date("at").timeIntervalSince(now)) < 0.000_001)
            #expect(abs(try stored.date("server").timeIntervalSince(now)) < 60)
        }
    }

    @Test("infinity maps to the distant dates")
    func infinity() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let row = try #require(try connection.queryFirst(
                "SELECT 'infinity'::timestamptz AS future, \(Date.distantPast) = '-infinity'::timestamptz AS past"))
            #expect(try row.date("future") == .distantFuture)
            #expect(try row.bool("past"))
        }
    }
}
