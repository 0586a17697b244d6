import Foundation
public import HTTPClient
public import Logging
public import Postgres
public import ServerSentEvents

/// Work followed by a `FollowLoop` (a report's upstream run, …). It lives on the loop's thread only: the loop
/// calls it there, and it acts only through the loop (transfers, timers, stores).
public protocol FollowedWork: AnyObject {
    /// Starts following (called once, on the loop thread).
    func start(on loop: FollowLoop)
}

/// The one monitoring thread of a process: follows every leased unit of work through one libcurl multi handle
/// (`HTTPStreamSet`). Each upstream event stream is a transfer on that handle, parsed incrementally; reconnect
/// backoff, stall checks and polling are timers of the same loop; one-shot fetches (a run, its result) are
/// transfers on the same handle; everything written to PostgreSQL is batched per pass of the loop and goes
/// through `DatabaseLanes`. No thread and no connection per unit of work.
///
/// Only `enqueue` and `wakeUp` may be called from other threads; everything else runs on the loop thread.
public final class FollowLoop: @unchecked Sendable {
    private struct Timer {
        let key: FollowKey
        let generation: Int
        let action: () -> Void
    }

    private struct PendingStore {
        let key: FollowKey
        let generation: Int
        let heavy: Bool
        /// The store alone (a merged one writes just its own item).
        let job: (Connection) throws -> Bool
        /// Set for a store of a `MergedStore`: what the lane needs to write it together with the others.
        var merge: MergePart? = nil
        let then: (Bool) -> Void
    }

    /// One store's part in a merged write: which `MergedStore` it belongs to, its item, and how to write many.
    private struct MergePart {
        let kind: ObjectIdentifier
        let item: Any
        let writeAll: ([Any], Connection) throws -> Void
    }

    private let set: HTTPStreamSet
    private let waker: HTTPStreamSetWaker
    private let lanes: DatabaseLanes
    private let logger: Logger
    private let inboxLock = NSLock()
    private var inbox: [() -> Void] = []
    private var works: [FollowKey: (work: any FollowedWork, generation: Int)] = [:]
    private var transfers: [FollowKey: Set<String>] = [:]
    /// Every timer by deadline; a cancelled key's timers are dropped when they come due (their generation is gone).
    private var timers = DeadlineHeap<Timer>()
    private var pendingStores: [Int: [PendingStore]] = [:]
    /// Jobs of this loop queued or running per lane: what is stored meanwhile waits and goes when they are done.
    private var busyLanes: [Int: Int] = [:]
    /// Lanes whose last job was a merged write: when other stores wait too, those go next (so a steady stream of
    /// events cannot hold back a completion).
    private var mergedLast: Set<Int> = []
    private var nextGeneration = 0
    private var nextTransfer = 0
    /// Longest wait in one poll: bounds how late a stall check or a stop is noticed.
    private let maxWait: Double

    /// A loop storing through `lanes`. Create it on any thread; run it on one.
    public init(lanes: DatabaseLanes, logger: Logger, maxWait: Double = 1) throws {
        set = try HTTPStreamSet()
        waker = set.waker
        self.lanes = lanes
        self.logger = logger
        self.maxWait = maxWait
    }

    // MARK: - Any thread

    /// Runs `action` on the loop thread at its next pass (and wakes the loop).
    public func enqueue(_ action: @escaping @Sendable () -> Void) {
        inboxLock.lock()
        inbox.append(action)
        inboxLock.unlock()
        waker.wakeUp()
    }

    /// Cuts the current wait short (for example after a stop was requested).
    public func wakeUp() { waker.wakeUp() }

    // MARK: - Loop thread

    /// How many units of work are followed.
    public var count: Int { works.count }

    /// Whether `key` is followed.
    public func isFollowing(_ key: FollowKey) -> Bool { works[key] != nil }

    /// The keys followed.
    public var keys: [FollowKey] { Array(works.keys) }

    /// Starts following `work` under `key` (replacing nothing: a key already followed is left alone).
    public func follow(_ key: FollowKey, _ work: any FollowedWork) {
        guard works[key] == nil else { return }
        nextGeneration += 1
        works[key] = (work, nextGeneration)
        work.start(on: self)
    }

    /// Stops following `key` at once: its transfers are removed, its timers and queued callbacks dropped.
    public func cancel(_ key: FollowKey) {
        works[key] = nil
        for id in transfers.removeValue(forKey: key) ?? [] { set.remove(id) }
    }

    /// `key` is done: the same as `cancel`, named for the caller's intent.
    public func finished(_ key: FollowKey) { cancel(key) }

    /// Opens an event stream for `key`: `onEvent` gets each complete event (return false to end the transfer),
    /// `onEnd` once when it ends by itself, with the response head (or the failure) and, for a non-200 answer,
    /// its body (bounded).
    public func openStream(
        _ key: FollowKey, _ request: HTTPRequest, onEvent: @escaping (ServerSentEvent) -> Bool,
        onEnd: @escaping (Result<HTTPResponseHead, HTTPClientError>, [UInt8]) -> Void
    ) {
        guard let generation = works[key]?.generation else { return }
        var parser = ServerSentEventParser()
        var status = 0
        var errorBody: [UInt8] = []
        let id = transferID(key)
        do {
            try set.add(request, id: id, onHead: { head in
                status = head.status
                return true
            }, onBytes: { bytes in
                guard status == 200 else {
                    if errorBody.count < 65_536 { errorBody += bytes }
                    return true
                }
                for event in parser.feed(bytes) where !onEvent(event) { return false }
                return true
            }, onEnd: { [weak self] result in
                guard let self, self.works[key]?.generation == generation else { return }
                self.transfers[key]?.remove(id)
                if case .success = result, status == 200 {
                    for event in parser.finish() where !onEvent(event) { break }
                }
                onEnd(result, errorBody)
            })
        } catch {
            transfers[key]?.remove(id)
            after(key, seconds: 0) {
                onEnd(.failure(error as? HTTPClientError ?? HTTPClientError(
                    kind: .other, code: 0, call: "HTTPStreamSet.add", requestNotSent: true)), [])
            }
        }
    }

    /// GETs (or sends) `request` for `key` on the same multi handle and hands the whole response to `onDone`.
    public func fetch(_ key: FollowKey, _ request: HTTPRequest,
                      onDone: @escaping (Result<HTTPResponse, HTTPClientError>) -> Void) {
        guard let generation = works[key]?.generation else { return }
        var body: [UInt8] = []
        let id = transferID(key)
        do {
            try set.add(request, id: id, onHead: { _ in true }, onBytes: { bytes in
                body += bytes
                return true
            }, onEnd: { [weak self] result in
                guard let self, self.works[key]?.generation == generation else { return }
                self.transfers[key]?.remove(id)
                onDone(result.map { HTTPResponse(head: $0, body: body) })
            })
        } catch {
            transfers[key]?.remove(id)
            after(key, seconds: 0) {
                onDone(.failure(error as? HTTPClientError ?? HTTPClientError(
                    kind: .other, code: 0, call: "HTTPStreamSet.add", requestNotSent: true)))
            }
        }
    }

    /// Runs `action` for `key` after `seconds` (unless `key` was cancelled meanwhile).
    public func after(_ key: FollowKey, seconds: Double, _ action: @escaping () -> Void) {
        guard let generation = works[key]?.generation else { return }
        timers.push(Timer(key: key, generation: generation, action: action), at: Self.now() + max(0, seconds))
    }

    /// Queues `job` for `key`'s database lane. What is queued for a lane while its previous job runs goes as the
    /// next lane job, in one transaction (keys in ascending order, each key's jobs in the order queued; one failing
    /// job undoes nothing of the others: the batch is then written again with a savepoint per job). A `heavy` job
    /// (a completion: the report's content indexed for search) goes after the light ones queued for other keys, so
    /// a burst of completions does not hold up the events of the runs still going. `then` runs on the loop thread
    /// with the job's answer (false when it threw), unless `key` was cancelled meanwhile.
    public func store(_ key: FollowKey, heavy: Bool = false, _ job: @escaping (Connection) throws -> Bool,
                      then: @escaping (Bool) -> Void = { _ in }) {
        guard let generation = works[key]?.generation else { return }
        pendingStores[lanes.lane(for: key.id), default: []].append(
            PendingStore(key: key, generation: generation, heavy: heavy, job: job, then: then))
    }

    /// Queues `item` for `key`'s database lane, to be written by `merged` together with the items of other keys
    /// queued for the same lane meanwhile (one statement for many runs: what a statement costs PostgreSQL to set
    /// up is paid once for all of them). A key's merged items are written in the order queued, and never after a
    /// store of the same key queued before them. `then` is as for `store`.
    public func store<Item>(_ key: FollowKey, _ item: Item, mergedBy merged: MergedStore<Item>,
                            then: @escaping (Bool) -> Void = { _ in }) {
        guard let generation = works[key]?.generation else { return }
        let part = MergePart(kind: ObjectIdentifier(merged), item: item, writeAll: { items, connection in
            // Every item of one kind was queued through this method with this `Item` type.
            try merged.write(items.map { $0 as! Item }, connection)
        })
        pendingStores[lanes.lane(for: key.id), default: []].append(
            PendingStore(key: key, generation: generation, heavy: false, job: { connection in
                try merged.write([item], connection)
                return true
            }, merge: part, then: then))
    }

    /// Runs passes until `stop` is requested, then drops every transfer (the caller releases the leases).
    public func run(until stop: any StopSignal) {
        while !stop.isRequested {
            pass()
        }
        for key in Array(works.keys) { cancel(key) }
        flushStores(waitingForNothing: true)
    }

    /// One pass: waits for network activity, a wake-up or the next timer; moves every transfer forward; runs the
    /// inbox and due timers; hands this pass's stores to the lanes.
    public func pass() {
        let now = Self.now()
        let nextTimer = timers.nextDeadline ?? .infinity
        let wait = max(0, min(maxWait, nextTimer - now))
        do {
            try set.poll(timeout: wait)
        } catch {
            logger.warning("Polling the monitor's transfers failed", metadata: ["error": "\(error)"])
        }
        drainInbox()
        fireTimers()
        flushStores()
    }

    private func transferID(_ key: FollowKey) -> String {
        nextTransfer += 1
        let id = "\(key)/\(nextTransfer)"
        transfers[key, default: []].insert(id)
        return id
    }

    private func drainInbox() {
        inboxLock.lock()
        let actions = inbox
        inbox.removeAll()
        inboxLock.unlock()
        for action in actions { action() }
    }

    private func fireTimers() {
        for timer in timers.popDue(now: Self.now()) where works[timer.key]?.generation == timer.generation {
            timer.action()
        }
    }

    /// Hands each lane that is not busy with a job of ours its next lane job (`nextJob`): a merged write of many
    /// keys' items, or at most `maxBatch` other stores, the light ones first (those of a key with a heavy store
    /// queued wait behind it, in order), then the rest in the order queued. Under load the jobs fill up (one transaction, one commit for many events)
    /// instead of queueing up behind each other; when idle each store goes at once. `waitingForNothing` (at stop)
    /// hands over everything, busy or not.
    private func flushStores(waitingForNothing: Bool = false) {
        for lane in Array(pendingStores.keys) where waitingForNothing || busyLanes[lane, default: 0] == 0 {
            guard var stores = pendingStores.removeValue(forKey: lane), !stores.isEmpty else { continue }
            repeat {
                let (job, rest) = Self.nextJob(from: stores, preferOthers: mergedLast.contains(lane))
                if job.first?.merge != nil { mergedLast.insert(lane) } else { mergedLast.remove(lane) }
                busyLanes[lane, default: 0] += 1
                submit(LoopOnly(Self.ordered(job)), lane: lane)
                stores = rest
            } while waitingForNothing && !stores.isEmpty
            if !stores.isEmpty { pendingStores[lane] = stores }
        }
    }

    /// Splits `stores` (in the order queued) into the next lane job and what waits for the one after it. A lane
    /// job is either one merged write (up to `maxMerged` stores of one `MergedStore`, each ahead of every other
    /// store of its key) or up to `maxBatch` other stores; the two take turns when both wait (`preferOthers`:
    /// the last job was a merged one).
    private static func nextJob(from stores: [PendingStore], preferOthers: Bool)
        -> (job: [PendingStore], rest: [PendingStore])
    {
        var blocked = Set<FollowKey>()
        var mergeable: [ObjectIdentifier: [Int]] = [:]
        for (index, store) in stores.enumerated() {
            if let part = store.merge, !blocked.contains(store.key) {
                mergeable[part.kind, default: []].append(index)
            } else {
                blocked.insert(store.key)
            }
        }
        let merged = mergeable.values.max { $0.count < $1.count } ?? []
        let others = stores.indices.filter { stores[$0].merge == nil || blocked.contains(stores[$0].key) }
        if !merged.isEmpty && (!preferOthers || others.isEmpty) {
            return split(stores, Set(merged.prefix(maxMerged)))
        }
        guard others.count > maxBatch || others.count < stores.count else { return (stores, []) }
        var behindHeavy = Set<FollowKey>()
        var light: [Int] = []
        var heavy: [Int] = []
        for index in others {
            let store = stores[index]
            if store.heavy { behindHeavy.insert(store.key) }
            if store.heavy || behindHeavy.contains(store.key) { heavy.append(index) } else { light.append(index) }
        }
        return split(stores, Set((light + heavy).prefix(maxBatch)))
    }

    private static func split(_ stores: [PendingStore], _ chosen: Set<Int>) -> (job: [PendingStore], rest: [PendingStore]) {
        (stores.indices.filter { chosen.contains($0) }.map { stores[$0] },
         stores.indices.filter { !chosen.contains($0) }.map { stores[$0] })
    }

    /// Most stores in one lane job. Bounds how long its transaction holds the rows it writes and how long a lease
    /// tick (queued first on a lane, waiting for those rows) waits: between two jobs, not behind a whole backlog.
    static let maxBatch = 32

    /// Most stores in one merged write (one statement: its rows stay locked until the commit).
    static let maxMerged = 256

    /// Stores in ascending key order (the order the lease statements lock rows in, so the two never wait for each
    /// other in a cycle), each key's in the order they were queued.
    private static func ordered(_ stores: [PendingStore]) -> [PendingStore] {
        stores.enumerated().sorted { ($0.element.key, $0.offset) < ($1.element.key, $1.offset) }.map(\.element)
    }

    /// A lane's batch as one lane job: one transaction without savepoints (a merged batch: one write of all its
    /// items); when a job throws (on a live connection) the transaction is rolled back and the batch written again
    /// with a savepoint per job (a merged store writing its own item), so only that job fails.
    /// A key's row is locked from its first store to the commit: a lease tick queued meanwhile runs right after.
    private func submit(_ pending: LoopOnly<[PendingStore]>, lane: Int) {
        let logger = logger
        lanes.submit(lane: lane) { [self] connection in
            let stores = pending.value
            var answers = Array(repeating: false, count: stores.count)
            do {
                do {
                    try connection.transaction { connection in
                        let parts = stores.compactMap(\.merge)
                        if let first = parts.first, parts.count == stores.count, stores.count > 1,
                           parts.allSatisfy({ $0.kind == first.kind }) {
                            try first.writeAll(parts.map(\.item), connection)
                            answers = Array(repeating: true, count: stores.count)
                        } else {
                            for (index, store) in stores.enumerated() { answers[index] = try store.job(connection) }
                        }
                    }
                } catch where connection.isAlive && stores.count > 1 {
                    answers = Array(repeating: false, count: stores.count)
                    try connection.transaction { connection in
                        for (index, store) in stores.enumerated() {
                            do {
                                answers[index] = try connection.transaction { try store.job($0) }
                            } catch {
                                if !connection.isAlive { throw error }
                                logger.warning("A monitor store failed", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
            } catch {
                logger.warning("A monitor store batch failed", metadata: ["error": "\(error)"])
                answers = Array(repeating: false, count: stores.count)
            }
            self.answer(pending, answers, lane: lane)
        } failed: { [self] _ in
            // The lane could not run it (no connection): every store of the batch failed.
            self.answer(pending, Array(repeating: false, count: pending.value.count), lane: lane)
        }
    }

    /// Frees `lane` for the next batch and hands each store's answer to its `then` on the loop thread.
    private func answer(_ pending: LoopOnly<[PendingStore]>, _ answers: [Bool], lane: Int) {
        let results = LoopOnly(zip(pending.value, answers).map { ($0.key, $0.generation, $0.then, $1) })
        enqueue {
            self.busyLanes[lane, default: 1] -= 1
            for (key, generation, then, answer) in results.value where self.works[key]?.generation == generation {
                then(answer)
            }
        }
    }

    /// Seconds on the monotonic clock the loop's timers use.
    public static func now() -> Double { ProcessInfo.processInfo.systemUptime }
}

/// Carries values that only the loop thread uses (work objects, their callbacks) through a lane thread and back,
/// untouched on the way.
private struct LoopOnly<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Stores of one kind that a lane writes for many keys at once (`FollowLoop.store(_:_:mergedBy:)`): `write` gets
/// the items of one lane job, each key's in the order queued, and writes them together.
public final class MergedStore<Item>: Sendable {
    let write: @Sendable ([Item], Connection) throws -> Void

    /// A kind of merged store; `write` runs on a lane thread inside the lane job's transaction.
    public init(write: @escaping @Sendable ([Item], Connection) throws -> Void) {
        self.write = write
    }
}
