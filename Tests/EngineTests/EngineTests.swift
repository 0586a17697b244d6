import Engine
import Foundation
import HTTPClient
import Logging
import ParallelAPI
import Postgres
import ServerSentEvents
import Synchronization
import TestSupport
import Testing

/// The engine on its own: a leased table that is neither reports nor batches, real PostgreSQL, real
/// `upstream-sim` runs followed on one loop thread through one database lane.
@Suite(.enabled(if: TestDatabase.isEnabled), .serialized)
struct EngineTests {
    static let schema = """
        CREATE TABLE jobs (id bigserial PRIMARY KEY, run_id text NOT NULL, done boolean NOT NULL DEFAULT false,
                           finished_count int NOT NULL DEFAULT 0, lease_owner text, lease_expires_at timestamptz);
        CREATE TABLE job_events (job_id bigint NOT NULL, n bigserial, payload text NOT NULL);
        """

    static let statements = LeaseStatements<Int64>(
        claim: { owner, seconds, _, limit, connection in  // the toy table has no creation time to wait on
            try connection.query(
                """
                UPDATE jobs SET lease_owner = \(owner), lease_expires_at = now() + make_interval(secs => \(seconds))
                WHERE id IN (SELECT id FROM jobs WHERE NOT done
                               AND (lease_expires_at IS NULL OR lease_expires_at < now())
                             ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """).map { try $0.int64("id") }
        },
        renew: { ids, owner, seconds, connection in
            Set(try connection.query(
                """
                UPDATE jobs SET lease_expires_at = now() + make_interval(secs => \(seconds))
                WHERE id = ANY(\(ids)) AND lease_owner = \(owner) AND NOT done RETURNING id
                """).map { try $0.int64("id") })
        },
        release: { owner, connection in
            try connection.execute("UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = \(owner) AND NOT done")
        },
        id: { $0 })

    @Test func leasesAreClaimedOnceRenewedTogetherAndReleased() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.executeScript(Self.schema)
            for index in 0..<5 { try connection.execute("INSERT INTO jobs (run_id) VALUES (\("r\(index)"))") }
            let first = LeasedWork(statements: Self.statements, owner: "a", leaseSeconds: 30, capacity: 3)
            let second = LeasedWork(statements: Self.statements, owner: "b", leaseSeconds: 30, capacity: 10)
            #expect(try first.tick(on: connection).claimed.count == 3, "capacity bounds a claim")
            #expect(try second.tick(on: connection).claimed.count == 2, "a held lease is never claimed twice")
            try connection.execute("UPDATE jobs SET done = true WHERE lease_owner = 'a' AND id = (SELECT min(id) FROM jobs WHERE lease_owner = 'a')")
            let tick = try first.tick(on: connection)
            #expect(tick.lost.count == 1 && tick.claimed.isEmpty && first.count == 2, "a finished row is lost, nothing free to claim")
            #expect(try first.releaseAll(on: connection) == 2)
            #expect(try second.tick(on: connection).claimed.count == 2, "released leases are taken at once")
        }
    }

    /// Stores of a `MergedStore` queued by many keys in one pass are one write; an item queued behind another
    /// store of its key waits for it; when a merged write fails, each item is written alone, so only the bad one
    /// fails.
    @Test func mergedStoresOfManyKeysAreOneWriteInEachKeysOrder() throws {
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.executeScript(Self.schema + "CREATE TABLE writes (n bigserial, items int NOT NULL);")
            let lanes = DatabaseLanes(url: database.url, count: 1, logger: Logger(label: "test"))
            defer { lanes.close() }
            let loop = try FollowLoop(lanes: lanes, logger: Logger(label: "test"))
            let answers = StoringFollow.Answers()
            let merged = MergedStore<StoringFollow.Item> { items, connection in
                if items.contains(where: { $0.payload == "poison" }) { throw StoringFollow.Poisoned() }
                try connection.execute("INSERT INTO writes (items) VALUES (\(items.count))")
                try connection.execute(
                    "INSERT INTO job_events (job_id, payload) SELECT * FROM unnest(\(items.map(\.id)), \(items.map(\.payload)))")
            }
            let stop = StopLatch()
            let thread = Thread { loop.run(until: stop) }
            thread.start()
            defer { stop.request(); loop.wakeUp() }

            loop.enqueue {
                for id in 1...5 {
                    loop.follow(FollowKey("job", Int64(id)), StoringFollow(id: Int64(id), steps: [.merged("m\(id)")],
                                                                         merged: merged, answers: answers))
                }
                loop.follow(FollowKey("job", 6), StoringFollow(id: 6, steps: [.plain("first"), .merged("second")],
                                                               merged: merged, answers: answers))
            }
            let deadline = Date().addingTimeInterval(10)
            while answers.all.count < 7, Date() < deadline { _ = stop.wait(timeout: .milliseconds(20)) }
            #expect(answers.all.count == 7 && answers.all.values.allSatisfy { $0 })
            #expect(try connection.query("SELECT items FROM writes ORDER BY n").map { try $0.int("items") } == [5, 1],
                    "five keys' items in one write; the one behind a plain store in the next")
            #expect(try connection.query("SELECT payload FROM job_events WHERE job_id = 6 ORDER BY n").map {
                try $0.string("payload")
            } == ["first", "second"])

            loop.enqueue {
                for (id, payload) in [(7, "m7"), (8, "poison"), (9, "m9")] {
                    loop.follow(FollowKey("job", Int64(id)), StoringFollow(id: Int64(id), steps: [.merged(payload)],
                                                                         merged: merged, answers: answers))
                }
            }
            while answers.all.count < 10, Date() < deadline { _ = stop.wait(timeout: .milliseconds(20)) }
            #expect(answers.all.filter { !$0.value }.map(\.key) == ["poison"])
            #expect(try connection.query("SELECT payload FROM job_events WHERE job_id >= 7 ORDER BY job_id").map {
                try $0.string("payload")
            } == ["m7", "m9"], "the good items of a failed merged write are written one by one")
        }
    }

    @Test func keysOfDifferentKindsWithTheSameIDAreFollowedApart() throws {
        let lanes = DatabaseLanes(url: try TestDatabase.requireURL(), count: 2, logger: Logger(label: "test"))
        defer { lanes.close() }
        let loop = try FollowLoop(lanes: lanes, logger: Logger(label: "test"), maxWait: 0.01)
        let report = FollowKey("report", 7), batch = FollowKey("batch", 7)
        let first = TimerFollow(key: report), second = TimerFollow(key: batch)
        loop.follow(report, first)
        loop.follow(batch, second)
        #expect(loop.count == 2 && loop.isFollowing(report) && loop.isFollowing(batch))
        loop.cancel(report)
        for _ in 0..<5 { loop.pass() }
        #expect(!first.fired && second.fired, "cancelling one kind's key leaves the other's timers alone")
        #expect(loop.keys == [batch])
    }

    @Test func theSharedLoopThreadDropsOneKindPerUserAndStopsWithTheLast() throws {
        let lanes = DatabaseLanes(url: try TestDatabase.requireURL(), count: 1, logger: Logger(label: "test"))
        defer { lanes.close() }
        let shared = try FollowLoopThread(lanes: lanes, logger: Logger(label: "test"))
        let loop = shared.loop
        shared.attach()
        shared.attach()
        let started = StopLatch()
        loop.enqueue {
            loop.follow(FollowKey("report", 1), IdleFollow())
            loop.follow(FollowKey("batch", 1), IdleFollow())
            started.request()
        }
        #expect(started.wait(timeout: .seconds(5)), "the first user started the thread")
        shared.detach(kind: "report")
        let keys = Mutex<[FollowKey]>([])
        let read = StopLatch()
        loop.enqueue {
            keys.withLock { $0 = loop.keys }
            read.request()
        }
        #expect(read.wait(timeout: .seconds(5)), "the thread runs on while a user is left")
        #expect(keys.withLock { $0 } == [FollowKey("batch", 1)], "only the leaving user's kind was dropped")
        shared.detach(kind: "batch")
        let late = StopLatch()
        loop.enqueue { late.request() }
        #expect(!late.wait(timeout: .milliseconds(1500)), "the last user stopped the thread")
    }

    @Test(.enabled(if: SimulatorProcess.isEnabled)) func oneLoopFollowsManyRunsThroughOneLane() throws {
        let simulator = try SimulatorProcess(timeScale: 0.02)
        defer { simulator.stop() }
        try TestDatabase.withSchema { database in
            let connection = try database.connect()
            try connection.executeScript(Self.schema)
            let client = try ParallelClient(configuration: ParallelConfiguration(
                baseURL: simulator.parallelURL, apiKey: SimulatorProcess.parallelKey))
            let runs = 40
            for index in 0..<runs {
                let run = try client.createRun(RunInput(
                    input: .text("Industry: engine test \(index)"), processor: "lite",
                    taskSpec: TaskSpec(outputSchema: .text(description: "report")), enableEvents: true))
                try connection.execute("INSERT INTO jobs (run_id) VALUES (\(run.runID))")
            }
            let lanes = DatabaseLanes(url: database.url, count: 1, logger: Logger(label: "test"))
            defer { lanes.close() }
            let loop = try FollowLoop(lanes: lanes, logger: Logger(label: "test"))
            let work = LeasedWork(statements: Self.statements, owner: LeaseOwner.make(), leaseSeconds: 10, capacity: 100)
            // Other suites run beside this one and start threads of their own: count what this test adds.
            let baseline = Self.threadCount()
            let threads = Atomic<Int>(0)
            let stop = StopLatch()
            let done = StopLatch()
            let thread = Thread {
                loop.run(until: stop)
                done.request()
            }
            thread.start()
            let tick = try lanes.sync(lane: 0) { try work.tick(on: $0) }
            #expect(tick.claimed.count == runs)
            let requests = try connection.query("SELECT id, run_id FROM jobs").map {
                (try $0.int64("id"), client.runEventsRequest(runID: try $0.string("run_id")))
            }
            loop.enqueue {
                for (id, request) in requests { loop.follow(FollowKey("job", id), TestFollow(id: id, request: request)) }
            }
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline,
                  try connection.queryFirst("SELECT count(*)::int AS n FROM jobs WHERE NOT done")?.int("n") != 0 {
                _ = stop.wait(timeout: .milliseconds(100))
                threads.store(Self.threadCount(), ordering: .relaxed)
            }
            stop.request()
            loop.wakeUp()
            #expect(done.wait(timeout: .seconds(10)), "the loop returns once stopped")
            #expect(try connection.queryFirst("SELECT count(*)::int AS n FROM jobs WHERE done AND finished_count = 1")?.int("n") == runs,
                    "every run finished exactly once")
            let ordered = try connection.query(
                "SELECT job_id, count(*)::int AS n FROM job_events GROUP BY job_id")
            #expect(ordered.count == runs, "every run stored its events")
            let duplicates = try connection.query(
                "SELECT job_id FROM job_events GROUP BY job_id, payload HAVING count(*) > 1")
            #expect(duplicates.isEmpty, "no event is stored twice")
            #expect(threads.load(ordering: .relaxed) - baseline < runs / 2,
                    "\(runs) runs cost no thread each (\(baseline) threads before, \(threads.load(ordering: .relaxed)) at most)")
            #expect(try connection.queryFirst(
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = '' AND pid <> pg_backend_pid() AND query LIKE '%job%'")!.int("n") <= 1,
                "one lane, at most one connection")
        }
    }

    /// The threads of this process (Linux: the entries of /proc/self/task).
    static func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }
}

/// A follower of the simplest kind: stores every event's data, finishes when a state says the run is inactive.
final class TestFollow: FollowedWork {
    let id: Int64
    let key: FollowKey
    let request: HTTPRequest
    private weak var loop: FollowLoop?
    private var seen = Set<String>()
    private var finished = false

    init(id: Int64, request: HTTPRequest) {
        self.id = id
        key = FollowKey("job", id)
        self.request = request
    }

    func start(on loop: FollowLoop) {
        self.loop = loop
        connect()
    }

    private func connect() {
        loop?.openStream(key, request, onEvent: { [self] event in
            guard !event.data.isEmpty, seen.insert(event.data).inserted else { return true }
            let (id, payload) = (id, event.data)
            loop?.store(key) { connection in
                try connection.execute("INSERT INTO job_events (job_id, payload) VALUES (\(id), \(payload))")
                return true
            }
            if let decoded = try? RunEvent.decode(payload), case .state(let state) = decoded, !state.run.isActive {
                finish()
                return false
            }
            return true
        }, onEnd: { [self] _, _ in
            if !finished { loop?.after(key, seconds: 0.05) { [self] in connect() } }
        })
    }

    private func finish() {
        finished = true
        let id = id
        loop?.store(key, { connection in
            try connection.execute("UPDATE jobs SET done = true, finished_count = finished_count + 1, lease_owner = NULL WHERE id = \(id)")
            return true
        }, then: { [self] _ in loop?.finished(key) })
    }
}

/// Queues its stores when started (merged or plain, in order) and records each one's answer by payload.
final class StoringFollow: FollowedWork {
    struct Item: Sendable {
        let id: Int64
        let payload: String
    }
    struct Poisoned: Error {}
    /// Each store's answer by payload, written on the loop thread and read by the test's.
    final class Answers: Sendable {
        private let state = Mutex<[String: Bool]>([:])
        var all: [String: Bool] { state.withLock { $0 } }
        func set(_ payload: String, _ answer: Bool) { state.withLock { $0[payload] = answer } }
    }
    enum Step {
        case merged(String)
        case plain(String)
    }

    let id: Int64
    let steps: [Step]
    let merged: MergedStore<Item>
    let answers: Answers

    init(id: Int64, steps: [Step], merged: MergedStore<Item>, answers: Answers) {
        (self.id, self.steps, self.merged, self.answers) = (id, steps, merged, answers)
    }

    func start(on loop: FollowLoop) {
        let key = FollowKey("job", id)
        for step in steps {
            switch step {
            case .merged(let payload):
                loop.store(key, Item(id: id, payload: payload), mergedBy: merged) { [answers] in
                    answers.set(payload, $0)
                }
            case .plain(let payload):
                let id = id
                loop.store(key, { connection in
                    try connection.execute("INSERT INTO job_events (job_id, payload) VALUES (\(id), \(payload))")
                    return true
                }, then: { [answers] in answers.set(payload, $0) })
            }
        }
    }
}

/// Sets one timer when started; records whether it fired.
final class TimerFollow: FollowedWork {
    let key: FollowKey
    var fired = false

    init(key: FollowKey) { self.key = key }

    func start(on loop: FollowLoop) {
        loop.after(key, seconds: 0) { [self] in fired = true }
    }
}

/// Follows nothing: only its key matters.
final class IdleFollow: FollowedWork {
    func start(on loop: FollowLoop) {}
}
