internal import CPostgres
import Foundation

/// One libpq connection. Create it on the thread that uses it; it is not `Sendable` and blocks on every call.
///
/// After the server restarts or the backend is terminated, calls throw a `PostgresError` whose
/// `isConnectionLost` is true; `reset()` reconnects with the same parameters and re-issues `LISTEN`s.
public final class Connection {
    let handle: OpaquePointer
    /// Channels to listen on again after `reset()`.
    var channels: Set<String> = []
    var savepointDepth = 0

    /// Connects with a libpq URL or keyword string (`postgresql://user@host:port/db`).
    public init(url: String) throws {
        guard let handle = PQconnectdb(url) else {
            throw PostgresError(.connectionFailed, call: "PQconnectdb", message: "out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.errorMessage(handle)
            PQfinish(handle)
            throw PostgresError(.connectionFailed, call: "PQconnectdb", message: message)
        }
        self.handle = handle
        try configureSession()
    }

    deinit {
        PQfinish(handle)
    }

    /// True while libpq believes the connection is usable (a dead server is noticed on the next call).
    public var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Whether the session is still there as far as can be told without sending anything (call it between
    /// statements). A server that ended the session (restart, `pg_terminate_backend`) has left its goodbye (an
    /// `ErrorResponse`, type byte `E`) and end-of-file on the socket, which libpq would only notice once a
    /// statement was sent; seeing them here means a statement is never sent down a dead connection.
    public var isAlive: Bool {
        guard isConnected else { return false }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return true }
        var first: UInt8 = 0
        let peeked = recv(socket, &first, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if peeked == 0 || first == UInt8(ascii: "E") { return false }
        // Anything else unprompted (a notification, a notice, a parameter change) is read and kept for later.
        return PQconsumeInput(handle) == 1 && isConnected
    }

    /// The server process id of this session (for `pg_terminate_backend`, or to skip one's own notifications).
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// True inside `BEGIN … COMMIT` (including a failed transaction awaiting rollback).
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Reconnects with the original parameters, restores session settings and re-issues every `LISTEN`.
    ///
    /// Notifications sent while disconnected are lost: re-read state from tables after a reset.
    public func reset() throws {
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(.connectionFailed, call: "PQreset", message: Self.errorMessage(handle))
        }
        savepointDepth = 0
        try configureSession()
        for channel in channels.sorted() {
            _ = try execute("LISTEN \(identifier: channel)")
        }
    }

    /// Runs a statement and returns its rows.
    @discardableResult
    public func query(_ query: Query) throws -> [Row] {
        let result = try run(query)
        defer { PQclear(result) }
        return Self.rows(of: result)
    }

    /// Runs a statement and returns its first row, if any.
    public func queryFirst(_ query: Query) throws -> Row? {
        try self.query(query).first
    }

    /// Runs a statement and returns the number of rows it inserted, updated, deleted or returned.
    @discardableResult
    public func execute(_ query: Query) throws -> Int {
        let result = try run(query)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// Runs trusted SQL that may hold several statements (a migration file), without parameters.
    ///
    /// Uses the simple query protocol, so it runs inside the current transaction if there is one.
    public func executeScript(_ sql: String) throws {
        let result = PQexec(handle, sql)
        defer { if let result { PQclear(result) } }
        try check(result, call: "PQexec")
    }

    // MARK: - Internals

    /// Runs one parameterless statement and returns its command tag (`COMMIT`, `ROLLBACK`, …).
    func executeCommand(_ sql: String) throws -> String {
        let result = PQexec(handle, sql)
        defer { if let result { PQclear(result) } }
        try check(result, call: "PQexec")
        guard let result, let tag = PQcmdStatus(result) else { return "" }
        return String(cString: tag)
    }

    func run(_ query: Query) throws -> OpaquePointer {
        let binds = query.binds
        var pointers: [UnsafeMutablePointer<CChar>?] = []
        pointers.reserveCapacity(binds.count)
        defer { pointers.forEach { free($0) } }
        for (index, bind) in binds.enumerated() {
            guard let text = bind.text else {
                pointers.append(nil)
                continue
            }
            // Text-format parameters are C strings: a NUL would silently truncate the value.
            guard !text.utf8.contains(0) else {
                throw PostgresError(.invalidParameter, call: "PQexecParams", sqlState: "22021",
                                    message: "parameter $\(index + 1) contains a NUL character")
            }
            pointers.append(strdup(text))
        }
        let types = binds.map { Oid($0.type.rawValue) }
        let result = types.withUnsafeBufferPointer { typePointer in
            pointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointer in
                PQexecParams(handle, query.sql, Int32(binds.count), typePointer.baseAddress,
                             valuePointer.baseAddress, nil, nil, 0)
            }
        }
        do {
            try check(result, call: "PQexecParams")
        } catch {
            if let result { PQclear(result) }
            throw error
        }
        guard let result else {
            throw PostgresError(.statementFailed, call: "PQexecParams", message: "no result")
        }
        return result
    }

    /// Throws unless the result is a success; does not free it.
    func check(_ result: OpaquePointer?, call: String) throws {
        guard let result else {
            throw PostgresError(isConnected ? .statementFailed : .connectionLost, call: call,
                                message: Self.errorMessage(handle))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            func field(_ code: Character) -> String? {
                guard let ascii = code.asciiValue, let value = PQresultErrorField(result, Int32(ascii)) else {
                    return nil
                }
                return String(cString: value)
            }
            let message = field("M") ?? String(cString: PQresultErrorMessage(result))
            throw PostgresError(
                isConnected ? .statementFailed : .connectionLost, call: call, sqlState: field("C"),
                message: message.trimmingCharacters(in: .whitespacesAndNewlines),
                detail: field("D"), hint: field("H"), constraint: field("n"))
        }
    }

    static func rows(of result: OpaquePointer) -> [Row] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        guard rowCount > 0 else { return [] }
        let columns = ColumnIndex(names: (0..<columnCount).map { String(cString: PQfname(result, $0)) })
        var rows: [Row] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let bytes = UnsafeRawPointer(PQgetvalue(result, row, column))
                    values.append(bytes.map {
                        String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
                    } ?? "")
                }
            }
            rows.append(Row(columns: columns, values: values))
        }
        return rows
    }

    static func errorMessage(_ handle: OpaquePointer) -> String {
        guard let message = PQerrorMessage(handle) else { return "unknown libpq error" }
        let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "unknown libpq error" : text
    }

    private func configureSession() throws {
        // libpq prints notices (e.g. "relation already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        guard PQsetClientEncoding(handle, "UTF8") == 0 else {
            throw PostgresError(.connectionFailed, call: "PQsetClientEncoding", message: Self.errorMessage(handle))
        }
        // Row decoding relies on these output formats.
        try executeScript("SET DateStyle TO 'ISO, YMD'; SET bytea_output TO 'hex'")
    }
}
