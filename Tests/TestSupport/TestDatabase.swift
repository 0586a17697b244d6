public import Postgres
import Foundation

/// Gives database tests an isolated place in the PostgreSQL named by `TEST_DATABASE_URL`.
///
/// Suites use `.enabled(if: TestDatabase.isEnabled)` and then call `TestDatabase.withSchema` (or
/// `withDatabase`) in each test: with no URL they are skipped, unless `MARKETLENS_REQUIRE_DB=1`, in which
/// case they run and fail with a clear error (that is how `make test` runs them).
///
/// Prefer `withSchema` (cheap). Use `withDatabase` when the test LISTENs: notification channels are
/// shared by the whole database, so parallel tests in schemas of one database hear each other.
public enum TestDatabase {
    /// `TEST_DATABASE_URL`, when set and not empty.
    public static var url: String? {
        guard let value = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !value.isEmpty else {
            return nil
        }
        return value
    }

    /// True when `MARKETLENS_REQUIRE_DB=1`: a missing database is a failure, not a skip.
    public static var isRequired: Bool {
        ProcessInfo.processInfo.environment["MARKETLENS_REQUIRE_DB"] == "1"
    }

    /// Whether database tests should run (and then pass or fail): a URL is set, or one is required.
    public static var isEnabled: Bool { url != nil || isRequired }

    /// The base URL, or an error explaining what to set.
    public static func requireURL() throws -> String {
        guard let url else { throw TestDatabaseError.notConfigured }
        return url
    }

    /// Creates a uniquely named schema, runs `body` with a handle whose URL puts every connection in it,
    /// and drops the schema afterwards (also when `body` throws).
    public static func withSchema<T>(_ body: (IsolatedDatabase) throws -> T) throws -> T {
        let isolated = try makeSchema()
        defer { isolated.drop() }
        return try body(isolated)
    }

    /// Creates a uniquely named database (from `template0`), runs `body` with it, and drops it afterwards.
    public static func withDatabase<T>(_ body: (IsolatedDatabase) throws -> T) throws -> T {
        let isolated = try makeDatabase()
        defer { isolated.drop() }
        return try body(isolated)
    }

    /// Creates a schema the caller must `drop()`.
    public static func makeSchema() throws -> IsolatedDatabase {
        let base = try requireURL()
        let name = uniqueName()
        let admin = try Connection(url: base)
        try admin.execute("CREATE SCHEMA \(identifier: name)")
        let url = DatabaseURL.adding(option: "-c search_path=\(name)", to: base)
        return IsolatedDatabase(url: url, baseURL: base, schema: name, database: nil)
    }

    /// Creates a database the caller must `drop()`.
    public static func makeDatabase() throws -> IsolatedDatabase {
        let base = try requireURL()
        let name = uniqueName()
        let admin = try Connection(url: base)
        try admin.execute("CREATE DATABASE \(identifier: name) TEMPLATE template0 ENCODING 'UTF8'")
        let url = DatabaseURL.replacing(database: name, in: base)
        return IsolatedDatabase(url: url, baseURL: base, schema: "public", database: name)
    }

    private static func uniqueName() -> String {
        let random = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        return "test_\(ProcessInfo.processInfo.processIdentifier)_\(random)"
    }
}

/// An isolated schema or database for one test.
public struct IsolatedDatabase: Sendable {
    /// A connection URL that lands in the isolated schema or database (give it to code under test).
    public let url: String
    /// The URL the isolation was created from.
    public let baseURL: String
    /// The schema tables are created in (`public` for an isolated database).
    public let schema: String
    /// The database name when a whole database was created.
    public let database: String?

    /// Opens a new connection into the isolated schema or database.
    public func connect() throws -> Connection {
        try Connection(url: url)
    }

    /// Drops the schema or database; failures are ignored (the cluster is throw-away).
    public func drop() {
        do {
            let admin = try Connection(url: baseURL)
            if let database {
                try admin.execute("DROP DATABASE IF EXISTS \(identifier: database) WITH (FORCE)")
            } else {
                try admin.execute("DROP SCHEMA IF EXISTS \(identifier: schema) CASCADE")
            }
        } catch {
            // Leftovers are harmless in a throw-away test cluster.
        }
    }
}

/// Why a database test cannot run.
public enum TestDatabaseError: Error, CustomStringConvertible {
    /// `TEST_DATABASE_URL` is not set.
    case notConfigured

    /// What to do about it.
    public var description: String {
        switch self {
        case .notConfigured:
            "TEST_DATABASE_URL is not set; database tests need a PostgreSQL (scripts/postgres.sh start DIR PORT "
                + "and scripts/postgres.sh url DIR PORT)"
        }
    }
}

/// Edits libpq connection strings in both forms: URIs and `key=value` lists.
enum DatabaseURL {
    static func isURI(_ url: String) -> Bool {
        url.hasPrefix("postgresql://") || url.hasPrefix("postgres://")
    }

    static func adding(option: String, to url: String) -> String {
        if isURI(url) {
            let encoded = option.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["_", "-", "."]))
                ?? option
            return url + (url.contains("?") ? "&" : "?") + "options=" + encoded
        }
        return url + " options='\(option)'"
    }

    static func replacing(database: String, in url: String) -> String {
        guard isURI(url) else { return url + " dbname=\(database)" }
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + database
        return components.string ?? url
    }
}
