public import Postgres
import Synchronization

/// The statements of one leased table, written by its owner (ReportStore, BatchStore): the engine knows only
/// that rows have an `Int64` id and a lease owner. Each is one statement for every row the process holds.
public struct LeaseStatements<Item: Sendable>: Sendable {
    /// Leases up to `limit` free or expired rows to `owner` (`UPDATE … FOR UPDATE SKIP LOCKED … RETURNING`), of
    /// the never leased ones only those at least `minAge` seconds old (where the table knows their age).
    public var claim: @Sendable (_ owner: String, _ leaseSeconds: Double, _ minAge: Double, _ limit: Int,
                                 _ connection: Connection) throws -> [Item]
    /// Extends `owner`'s leases on `ids` (at least those with less than a third of `leaseSeconds` left) in one
    /// statement; returns those still held and active.
    public var renew: @Sendable (_ ids: [Int64], _ owner: String, _ leaseSeconds: Double, _ connection: Connection)
        throws -> Set<Int64>
    /// Hands back every lease `owner` holds; returns how many.
    public var release: @Sendable (_ owner: String, _ connection: Connection) throws -> Int
    /// The row id of a claimed item.
    public var id: @Sendable (Item) -> Int64

    /// Statements from closures.
    public init(
        claim: @escaping @Sendable (String, Double, Double, Int, Connection) throws -> [Item],
        renew: @escaping @Sendable ([Int64], String, Double, Connection) throws -> Set<Int64>,
        release: @escaping @Sendable (String, Connection) throws -> Int,
        id: @escaping @Sendable (Item) -> Int64
    ) {
        self.claim = claim
        self.renew = renew
        self.release = release
        self.id = id
    }
}

/// The leased-work runner shared by the report monitor and the batch monitor: which rows this process holds,
/// and one tick that renews all of them and claims more in two statements, however many there are.
public final class LeasedWork<Item: Sendable>: Sendable {
    /// What one tick changed.
    public struct Tick: Sendable {
        /// Newly leased rows: start working on them.
        public var claimed: [Item]
        /// Rows no longer ours (finished, or taken over after we stalled): stop working on them.
        public var lost: [Int64]
    }

    /// The lease owner (one per process: `LeaseOwner.current`).
    public let owner: String
    let statements: LeaseStatements<Item>
    let leaseSeconds: Double
    let capacity: Int
    /// Most rows one tick claims: a burst of new work is shared by the processes ticking meanwhile instead of
    /// going to whichever ticks first (which took 2,000 of 3,000 runs, and followed them on one thread).
    let claimsPerTick: Int
    /// How long a new row waits, per row this process holds, before this process takes it: the less loaded
    /// processes get new work first, with no registry of who is alive (runs arriving 100 a second went
    /// 2,000 + 1,000 to whichever worker ticked first; 1 ms per held row is 1 s at 1,000).
    static var claimDelayPerHeldRow: Double { 0.001 }
    private let held = Mutex<Set<Int64>>([])

    /// A runner holding at most `capacity` rows, each for `leaseSeconds` past its last renewal, claiming at most
    /// `claimsPerTick` a tick.
    public init(statements: LeaseStatements<Item>, owner: String = LeaseOwner.current, leaseSeconds: Double,
                capacity: Int, claimsPerTick: Int = 250) {
        self.statements = statements
        self.owner = owner
        self.leaseSeconds = leaseSeconds
        self.capacity = capacity
        self.claimsPerTick = max(1, claimsPerTick)
    }

    /// How many rows this process holds.
    public var count: Int { held.withLock { $0.count } }

    /// The ids this process holds.
    public var ids: Set<Int64> { held.withLock { $0 } }

    /// Renews the held leases (one statement) and, while below capacity, claims more (one statement).
    public func tick(on connection: Connection) throws -> Tick {
        let ids = held.withLock { Array($0) }
        var lost: [Int64] = []
        if !ids.isEmpty {
            let renewed = try statements.renew(ids, owner, leaseSeconds, connection)
            lost = ids.filter { !renewed.contains($0) }
        }
        let kept = ids.count - lost.count
        let free = min(claimsPerTick, capacity - kept)
        let minAge = Double(kept) * Self.claimDelayPerHeldRow
        let claimed = free > 0 ? try statements.claim(owner, leaseSeconds, minAge, free, connection) : []
        held.withLock { set in
            for id in lost { set.remove(id) }
            for item in claimed { set.insert(statements.id(item)) }
        }
        return Tick(claimed: claimed, lost: lost)
    }

    /// Forgets `id` (its work ended here); its row's lease was cleared by whatever finished it.
    public func drop(_ id: Int64) {
        _ = held.withLock { $0.remove(id) }
    }

    /// Hands back every lease (a clean shutdown, so another process takes over at once).
    @discardableResult
    public func releaseAll(on connection: Connection) throws -> Int {
        held.withLock { $0.removeAll() }
        return try statements.release(owner, connection)
    }
}

/// SQL the leased tables' statements share.
public enum LeaseSQL {
    /// The claim condition both leased tables share, on columns `lease_expires_at` and `created_at`: the lease
    /// expired, or the row was never leased and is at least `minAge` seconds old.
    public static func claimable(minAge: Double) -> Query {
        """
        (lease_expires_at < now()
         OR (lease_expires_at IS NULL AND created_at <= now() - make_interval(secs => \(minAge))))
        """
    }
}
