/// What a `FollowLoop` follows one unit of work under: its kind (chosen by the client: reports and batches have ids
/// from different tables, which can be equal) and its row id. The row id alone picks the database lane, so one
/// unit's stores always land on the same lane, in order.
public struct FollowKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The client's name for this kind of work (`"report"`, `"batch"`, …).
    public let kind: String
    /// The row id of the unit of work.
    public let id: Int64

    /// The key of row `id` of kind `kind`.
    public init(_ kind: String, _ id: Int64) {
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(kind):\(id)" }

    /// By kind, then id: the order in which one lane job writes (and locks) its rows, the same in every job.
    public static func < (a: FollowKey, b: FollowKey) -> Bool { (a.kind, a.id) < (b.kind, b.id) }
}
