import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Bind parameters", .enabled(if: TestDatabase.isEnabled))
struct BindTests {
    @Test("every supported type survives a round trip through a table")
    func roundTripThroughTable() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("""
                CREATE TABLE sample (
                    id bigserial PRIMARY KEY, name text, count bigint, small integer, ratio double precision,
                    flag boolean, at timestamptz, data bytea, token uuid, doc jsonb, amount numeric(6,2))
                """)
            let name = "Grüße, 世界 🌍 \u{202E}rtl 'quoted' \"double\" back\\slash\nnewline\ttab"
            let at = Date(timeIntervalSince1970: 1_700_000_000.123456)
            let bytes = (0...255).map { UInt8($0) }
            let token = UUID()
            let doc = PostgresJSON(#"{"b": [1, 2], "a": "ü"}"#)
            try connection.execute("""
                INSERT INTO sample (name, count, small, ratio, flag, at, data, token, doc, amount)
                VALUES (\(name), \(Int.max), \(Int32.min), \(Double.pi), \(true), \(at), \(bytes), \(token), \(doc),
                        \(1234.5))
                """)
            let row = try #require(try connection.queryFirst("SELECT * FROM sample"))
            #expect(try row.string("name") == name)
            #expect(try row.int("count") == Int.max)
            #expect(try row.decode("small", as: Int32.self) == Int32.min)
            #expect(try row.double("ratio") == Double.pi)
            #expect(try row.bool("flag") == true)
            #expect(try row.date("at") == at)
            #expect(try row.bytes("data") == bytes)
            #expect(try row.uuid("token") == token)
            let decoded = try row.json("doc").decode([String: PostgresJSONValueProbe].self)
            #expect(decoded["a"] == .string("ü"))
            #expect(decoded["b"] == .array([1, 2]))
            #expect(try row.double("amount") == 1234.5)
            #expect(try row.int64("id") == 1)
        }
    }

    @Test("nil optionals are sent as typed NULLs and read back as nil")
    func nulls() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let missingText: String? = nil
            let missingDate: Date? = nil
            let missingNumber: Int? = nil
            let row = try #require(try connection.queryFirst("""
                SELECT \(missingText) IS NULL AS text_null, \(missingDate) AS date_value,
                       \(missingNumber) AS number_value, \(Optional("here")) AS present
                """))
            #expect(try row.bool("text_null"))
            #expect(try row.optionalDate("date_value") == nil)
            #expect(try row.optionalInt("number_value") == nil)
            #expect(try row.optionalString("present") == "here")
            #expect(try row.isNull("number_value"))
            #expect(throws: PostgresError.self) { try row.int("number_value") }
        }
    }

    @Test("SQL injection strings stay data", arguments: [
        "'; DROP TABLE victims; --",
        "Robert'); DROP TABLE victims;--",
        "$1",
        "\\'; SELECT pg_sleep(10); --",
        "1 OR 1=1",
    ])
    func injectionStaysData(_ attack: String) throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE victims (name text NOT NULL)")
            try connection.execute("INSERT INTO victims (name) VALUES (\(attack))")
            let rows = try connection.query("SELECT name FROM victims WHERE name = \(attack)")
            #expect(rows.count == 1)
            #expect(try rows.first?.string("name") == attack)
            let count = try connection.queryFirst("SELECT count(*) AS n FROM victims")
            #expect(try count?.int("n") == 1)
        }
    }

    @Test("identifiers are quoted so a hostile name cannot end them")
    func identifierQuoting() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let table = "we\"ird; DROP TABLE x"
            try connection.execute("CREATE TABLE \(identifier: table) (v int)")
            try connection.execute("INSERT INTO \(identifier: table) VALUES (\(Int32(7)))")
            let row = try connection.queryFirst("SELECT v FROM \(identifier: table)")
            #expect(try row?.int("v") == 7)
        }
    }

    @Test("text with a NUL character is refused before it is truncated")
    func nulRefused() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let error = try #require(throws: PostgresError.self) {
                try connection.query("SELECT \("before\u{0}after") AS v")
            }
            #expect(error.kind == .invalidParameter)
            #expect(!error.description.contains("before"))
        }
    }

    @Test("arrays bind as one parameter for = ANY and decode back")
    func arrays() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let domains = ["a.com", "b \"quoted\".com", "c\\d,e{f}", "NULL", ""]
            let row = try #require(try connection.queryFirst("SELECT \(domains) AS list, \([3, 1, 2]) AS numbers"))
            #expect(try row.stringArray("list") == domains)
            #expect(try row.stringArray("numbers") == ["3", "1", "2"])
            let matched = try connection.query(
                "SELECT x FROM unnest(ARRAY['a.com', 'z.com']) AS x WHERE x = ANY(\(domains))")
            #expect(try matched.map { try $0.string("x") } == ["a.com"])
        }
    }

    @Test("arrays with gaps bind NULL elements and cast to other array types")
    func arraysWithGaps() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let numbers: [String?] = ["1.5", nil, "-2"]
            let texts: [String?] = [nil, "b \"quoted\", {x}", "NULL"]
            let row = try #require(try connection.queryFirst(
                """
                SELECT (\(numbers)::float8[])[1] + (\(numbers)::float8[])[3] AS sum,
                       (\(numbers)::float8[])[2] IS NULL AS gap, (\(texts))[1] IS NULL AS first_null,
                       (\(texts))[2] AS second, (\(texts))[3] AS third
                """))
            #expect(try row.double("sum") == -0.5 && row.bool("gap") && row.bool("first_null"))
            #expect(try row.string("second") == "b \"quoted\", {x}" && row.string("third") == "NULL")
        }
    }

    @Test("fragments compose with parameters renumbered")
    func composition() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            var conditions: [Query] = ["n > \(2)", "n < \(5)"]
            conditions.append("n <> \(3)")
            let query: Query = "SELECT n FROM generate_series(1, 10) AS n WHERE \(Query.joined(conditions, separator: " AND ")) ORDER BY n"
            #expect(query.sql.contains("$3"))
            #expect(!query.description.contains("5"))
            let rows = try connection.query(query)
            #expect(try rows.map { try $0.int("n") } == [4])
        }
    }

    @Test("execute returns the affected row count")
    func affectedRows() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE t (n int)")
            #expect(try connection.execute("INSERT INTO t SELECT generate_series(1, 5)") == 5)
            #expect(try connection.execute("UPDATE t SET n = n + 1 WHERE n > \(3)") == 2)
            #expect(try connection.execute("DELETE FROM t WHERE n = \(99)") == 0)
        }
    }
}

/// A tiny JSON value for checking decoded documents.
enum PostgresJSONValueProbe: Decodable, Equatable, ExpressibleByIntegerLiteral {
    case string(String)
    case number(Double)
    case array([PostgresJSONValueProbe])

    init(integerLiteral value: Int) { self = .number(Double(value)) }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .array(try container.decode([PostgresJSONValueProbe].self))
        }
    }
}
