public import Engine
import Foundation
public import Logging
import Postgres
import Synchronization
import Web

/// The waits of the synchronous `POST /research/batch` in one process: the request thread creates the batch and
/// hands its detached response here; one thread answers each when its batch has finished (200 with the batch's
/// document) or its wait has run out (202 with the batch's address). A wait holds no request thread and no
/// database connection: it is a relay of the hub (woken by the batch's terminal event, re-checked after the
/// hub reconnects) and its document is read on a replay thread.
///
/// The hand-over point is the `Mutex`-guarded list; the wait thread owns the rest.
public final class BatchWaits: Sendable {
    struct Wait: Sendable {
        let relay: Relay
        let body: any DetachedBody
        let batch: BatchRecord
        /// The new batch's manage link, for its creator's answer only (nil for a repeat without one).
        let manageURL: String?
        let deadline: Date
    }

    let hub: RelayHub
    private let adopted = Mutex<[Wait]>([])
    private let logger: Logger

    public init(hub: RelayHub, logger: Logger) {
        self.hub = hub
        self.logger = logger
    }

    /// The wait thread, as a background service of the worker process.
    public var services: [any BackgroundService] { [BatchWaitThread(waits: self)] }

    /// The response of a synchronous batch request: answered later, by the wait thread. Nil when the process or
    /// the client is at its stream cap (the caller refuses).
    func response(for batch: BatchRecord, client: String, wait: Duration, manageURL: String? = nil) -> Response? {
        guard case .success(let relay) = hub.register(StreamKey(.batch, batch.id), client: client) else { return nil }
        let deadline = Date().addingTimeInterval(BatchStreamer.seconds(wait))
        return Response(status: 200, body: .later { [self] body in
            adopted.withLock { $0.append(Wait(relay: relay, body: body, batch: batch, manageURL: manageURL, deadline: deadline)) }
        })
    }

    fileprivate func take() -> [Wait] { adopted.withLock { list in defer { list = [] }; return list } }

    /// Reads the batch's document on a replay thread and answers: 200 once finished, else 202 with its address
    /// (`finishedOnly`: answer nothing unless finished, the check after a wake-up). `done(answered)` follows.
    fileprivate func answer(_ wait: Wait, finishedOnly: Bool, done: @escaping @Sendable (Bool) -> Void) {
        let hub = self.hub
        let logger = self.logger
        hub.replay.submit({ connection -> (BatchDocument, Bool)? in
            guard let current = try BatchStore.find(publicID: wait.batch.publicID, on: connection) else { return nil }
            if finishedOnly && !current.isFinished { return nil }
            var document = try BatchDocument.load(current, on: connection)
            document.manageURL = wait.manageURL
            return (document, current.isFinished)
        }, completion: { result in
            var status = 503
            var headers: HTTPHeaders = ["Content-Type": "application/json"]
            var body: [UInt8] = Array(#"{"error":{"code":"unavailable","message":"Try again in a moment."}}"#.utf8)
            switch result {
            case .success(.none):
                done(false)
                return
            case .success(.some(let (document, finished))):
                if let json = try? JSONEncoder().encode(document) { body = Array(json) }
                status = finished ? 200 : 202
                if !finished { headers["Location"] = "/research/batch/\(wait.batch.publicID)" }
            case .failure(let error):
                if finishedOnly {
                    done(false)
                    return
                }
                logger.warning("batch wait could not read its batch", metadata: ["error": "\(error)"])
                headers["Retry-After"] = "2"
            }
            try? wait.body.respond(status: status, headers: headers, body: body)
            hub.unregister(wait.relay)
            done(true)
        })
    }
}

/// The wait thread: looks at every wait's relay four times a second (a terminal event, a resync, the deadline,
/// the client leaving) and answers through `BatchWaits.answer`.
struct BatchWaitThread: BackgroundService {
    let waits: BatchWaits
    var name: String { "batch-waits" }

    /// A wait with its check in flight or not.
    private final class Entry: @unchecked Sendable {
        let wait: BatchWaits.Wait
        let answered = Atomic<Bool>(false)
        let checking = Atomic<Bool>(false)
        init(_ wait: BatchWaits.Wait) { self.wait = wait }
    }

    func run(until stop: any StopSignal) {
        var entries: [Entry] = []
        while !stop.wait(timeout: .milliseconds(250)) {
            for wait in waits.take() {
                let entry = Entry(wait)
                entries.append(entry)
                check(entry, finishedOnly: true)  // it may have finished before it was registered
            }
            let now = Date()
            entries.removeAll { entry in
                if entry.answered.load(ordering: .acquiring) { return true }
                if entry.wait.body.isPeerClosed {
                    waits.hub.unregister(entry.wait.relay)
                    waits.hub.closer.close([entry.wait.body])
                    return true
                }
                switch entry.wait.relay.take(taking: true) {
                case .events(let events) where events.contains(where: \.isTerminal):
                    check(entry, finishedOnly: false)
                case .resync:
                    check(entry, finishedOnly: true)
                case .closed, .overflow:
                    check(entry, finishedOnly: false)
                default:
                    if now >= entry.wait.deadline { check(entry, finishedOnly: false) }
                }
                return false
            }
        }
        for entry in entries + waits.take().map(Entry.init) where !entry.answered.load(ordering: .acquiring) {
            waits.hub.unregister(entry.wait.relay)
            waits.hub.closer.close([entry.wait.body])
        }
    }

    private func check(_ entry: Entry, finishedOnly: Bool) {
        guard !entry.checking.exchange(true, ordering: .acquiringAndReleasing) else { return }
        waits.answer(entry.wait, finishedOnly: finishedOnly) { answered in
            if answered { entry.answered.store(true, ordering: .releasing) }
            entry.checking.store(false, ordering: .releasing)
        }
    }
}
