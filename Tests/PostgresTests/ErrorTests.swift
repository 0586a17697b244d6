import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Errors", .enabled(if: TestDatabase.isEnabled))
struct ErrorTests {
    @Test("a unique violation carries SQLSTATE 23505 and the constraint, but not the value in its description")
    func uniqueViolation() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.execute("CREATE TABLE people (email text CONSTRAINT people_email_key UNIQUE)")
            let email = "secret.person@example.com"
            try connection.execute("INSERT INTO people VALUES (\(email))")
            let error = try #require(throws: PostgresError.self) {
                try connection.execute("INSERT INTO people VALUES (\(email))")
            }
            #expect(error.sqlState == "23505")
            #expect(error.isUniqueViolation)
            #expect(!error.isConnectionLost)
            #expect(error.constraint == "people_email_key")
            #expect(error.call == "PQexecParams")
            #expect(!error.description.contains(email))
            #expect(error.description.contains("23505"))
            #expect(error.debugDescription.contains(email))
            // The connection stays usable after a statement error.
            #expect(try connection.queryFirst("SELECT 1 AS one")?.int("one") == 1)
        }
    }

    @Test("a value quoted in the server's message stays out of the description")
    func invalidInputRedacted() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let error = try #require(throws: PostgresError.self) {
                try connection.query("SELECT \("hunter2-not-a-number")::integer AS n")
            }
            #expect(error.sqlState == "22P02")
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("invalid input syntax"))
        }
    }

    @Test("syntax errors and check violations have their SQLSTATE")
    func otherStates() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let syntax = try #require(throws: PostgresError.self) { try connection.query("SELEC 1") }
            #expect(syntax.sqlState == "42601")
            #expect(syntax.kind == .statementFailed)
            try connection.execute("CREATE TABLE t (n int CHECK (n > 0))")
            let check = try #require(throws: PostgresError.self) { try connection.execute("INSERT INTO t VALUES (\(-1))") }
            #expect(check.isCheckViolation)
            let serialization = PostgresError(.statementFailed, call: "x", sqlState: "40001", message: "m")
            #expect(serialization.isSerializationFailure)
        }
    }

    @Test("a failed connection names the call but never the password")
    func connectionFailure() throws {
        let error = try #require(throws: PostgresError.self) {
            _ = try Connection(url: "postgresql://marketlens:topsecretpw@127.0.0.1:1/marketlens?connect_timeout=2")
        }
        #expect(error.kind == .connectionFailed)
        #expect(error.isConnectionLost)
        #expect(error.call == "PQconnectdb")
        #expect(!error.description.contains("topsecretpw"))
        #expect(!error.debugDescription.contains("topsecretpw"))
    }

    @Test("decoding a missing column or a wrong type throws a decoding error")
    func decodingErrors() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            let row = try #require(try connection.queryFirst("SELECT 'abc' AS word"))
            let missing = try #require(throws: PostgresError.self) { try row.string("nope") }
            #expect(missing.kind == .decodingFailed)
            let wrongType = try #require(throws: PostgresError.self) { try row.int("word") }
            #expect(wrongType.kind == .decodingFailed)
            #expect(!wrongType.description.contains("abc"))
        }
    }
}
