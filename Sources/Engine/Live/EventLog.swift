public import Postgres

/// One followed event log: the `LISTEN` channel its appends notify on and the owner's id (the notification payload
/// is `<owner id>:<seq>`). The relay hub groups viewers by it.
public struct StreamKey: Hashable, Sendable, CustomStringConvertible {
    /// The notify channel of the log's table.
    public var channel: String
    /// The owner's internal id (a report's, a batch's, …).
    public var id: Int64

    public init(channel: String, id: Int64) {
        self.channel = channel
        self.id = id
    }

    public var description: String { "\(channel):\(id)" }
}

/// The event logs a process streams, as its client (the app) stores them: every log has the same shape (owner
/// id, gap-free `seq`, type, payload; a NOTIFY of `<owner id>:<seq>` on commit), so one hub, one listener
/// connection, one writer and one replay path serve them all. The engine only reads through this.
public protocol EventLogReader: Sendable {
    /// The `LISTEN` channels, one per log.
    var channels: [String] { get }
    /// The events of `key` after `seq`, in order, at most `limit` (a replay page).
    func events(of key: StreamKey, after seq: Int, limit: Int, on connection: Connection) throws -> [LiveEvent]
    /// Every event after the given seq of each log, grouped by log in seq order (one burst of notifications).
    func fetch(after positions: [StreamKey: Int], on connection: Connection) throws -> [StreamKey: [LiveEvent]]
}
