/// An error from PostgreSQL or libpq: the failing call, the SQLSTATE when the server sent one, and the message.
///
/// `description` is safe to log: it never contains bind values, row data or the connection URL (server
/// messages that quote an input value are cut before the value). `debugDescription` adds the server's
/// DETAIL and HINT, which may quote row data: keep it out of production logs.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: String, Sendable, Equatable {
        /// The connection could not be established.
        case connectionFailed
        /// The connection broke (server restart, terminated backend, network); `reset()` may recover it.
        case connectionLost
        /// The server rejected a statement; `sqlState` says why.
        case statementFailed
        /// A bind value could not be sent (for example text containing NUL).
        case invalidParameter
        /// A column was missing or its value could not be decoded as the requested type.
        case decodingFailed
        /// Waiting for notifications failed at the socket level.
        case socketFailed
    }

    /// The broad category.
    public var kind: Kind
    /// The libpq call (or library step) that failed, such as `PQexecParams`.
    public var call: String
    /// The five-character SQLSTATE code, when the server reported one.
    public var sqlState: String?
    /// The primary message (may quote a value; use `description` for logs).
    public var message: String
    /// The server's DETAIL field (may quote row data).
    public var detail: String?
    /// The server's HINT field.
    public var hint: String?
    /// The constraint named by the server for integrity violations.
    public var constraint: String?

    /// Creates an error; mostly used by this module.
    public init(
        _ kind: Kind, call: String, sqlState: String? = nil, message: String,
        detail: String? = nil, hint: String? = nil, constraint: String? = nil
    ) {
        self.kind = kind
        self.call = call
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// True when the connection is gone and must be reset (or replaced) before it can be used again.
    public var isConnectionLost: Bool {
        if kind == .connectionLost || kind == .connectionFailed { return true }
        guard let sqlState else { return false }
        // 08: connection exception; 57P01-03: admin/crash shutdown, cannot connect now.
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// True for a unique-constraint violation (23505); `constraint` names the index.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// True for a foreign-key violation (23503).
    public var isForeignKeyViolation: Bool { sqlState == "23503" }

    /// True for a CHECK violation (23514).
    public var isCheckViolation: Bool { sqlState == "23514" }

    /// True when retrying the whole transaction may succeed: serialization failure (40001) or deadlock (40P01).
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// True when a `lock_timeout` or `statement_timeout` cancelled the statement (55P03, 57014).
    public var isTimeout: Bool { sqlState == "55P03" || sqlState == "57014" }

    /// A one-line summary safe for logs.
    public var description: String {
        var text = "PostgresError(\(kind.rawValue), \(call)"
        if let sqlState { text += ", SQLSTATE \(sqlState)" }
        return text + "): " + Self.redacted(message)
    }

    /// Everything known, including DETAIL and HINT (which may quote data).
    public var debugDescription: String {
        var text = "PostgresError(\(kind.rawValue), \(call)"
        if let sqlState { text += ", SQLSTATE \(sqlState)" }
        text += "): \(message)"
        if let detail { text += " DETAIL: \(detail)" }
        if let hint { text += " HINT: \(hint)" }
        if let constraint { text += " CONSTRAINT: \(constraint)" }
        return text
    }

    /// Keeps the first line and cuts it before a quoted input value (`invalid input syntax for type integer: "abc"`).
    static func redacted(_ message: String) -> String {
        let firstLine = message.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? message
        if let range = firstLine.range(of: ": \"") {
            return String(firstLine[..<range.lowerBound]) + ": (value omitted)"
        }
        return firstLine
    }
}
