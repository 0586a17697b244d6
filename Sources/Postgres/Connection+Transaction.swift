/// Transaction isolation levels.
public enum IsolationLevel: String, Sendable {
    /// Each statement sees data committed before it began (PostgreSQL's default).
    case readCommitted = "READ COMMITTED"
    /// The whole transaction sees one snapshot.
    case repeatableRead = "REPEATABLE READ"
    /// As if transactions ran one after another; be ready to retry on `isSerializationFailure`.
    case serializable = "SERIALIZABLE"
}

extension Connection {
    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    ///
    /// Called inside another transaction it uses a savepoint, so an inner failure undoes only the inner work.
    /// If a statement failed inside `body` and `body` swallowed the error, the commit throws (the server
    /// rolled everything back), so a silent partial write is impossible.
    public func transaction<T>(
        isolation: IsolationLevel? = nil, _ body: (Connection) throws -> T
    ) throws -> T {
        if isInTransaction {
            return try savepoint(body)
        }
        var begin = "BEGIN"
        if let isolation { begin += " ISOLATION LEVEL \(isolation.rawValue)" }
        try executeScript(begin)
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly("ROLLBACK")
            throw error
        }
        try commit()
        return value
    }

    private func commit() throws {
        let tag = try executeCommand("COMMIT")
        if tag != "COMMIT" {
            throw PostgresError(
                .statementFailed, call: "COMMIT", sqlState: "25P02",
                message: "the transaction was rolled back because a statement in it failed")
        }
    }

    private func savepoint<T>(_ body: (Connection) throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "marketlens_sp_\(savepointDepth)"
        try executeScript("SAVEPOINT \(name)")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly("ROLLBACK TO SAVEPOINT \(name); RELEASE SAVEPOINT \(name)")
            throw error
        }
        try executeScript("RELEASE SAVEPOINT \(name)")
        return value
    }

    /// The caller's error matters more than a failed rollback (which a lost connection implies anyway).
    private func rollbackQuietly(_ sql: String) {
        guard isConnected else { return }
        do {
            try executeScript(sql)
        } catch {
            // Nothing useful to add: the original error is rethrown by the caller.
        }
    }
}
