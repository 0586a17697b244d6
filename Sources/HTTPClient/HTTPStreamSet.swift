internal import CCurl
import Glibc

/// Follows many streaming requests from one thread over a libcurl multi handle (HTTP/2 streams to the same
/// host share a connection). Create, use and drop it on one thread; its callbacks run inside ``poll(timeout:)``.
///
/// Each stream's `onHead` and `onBytes` behave as in ``HTTPClient/stream(_:onHead:onBytes:)``; `onEnd` runs
/// exactly once when the stream ends by itself (success, including a stop asked by `onBytes`, or failure), but
/// not after ``remove(_:)``. Callbacks may call ``add(_:id:onHead:onBytes:onEnd:)`` and ``remove(_:)``.
public final class HTTPStreamSet {
    private final class Entry {
        let id: String
        let handle: HTTPEasyHandle
        let state: HTTPTransferState
        let onEnd: (Result<HTTPResponseHead, HTTPClientError>) -> Void
        /// Tells this entry from a later one under the same id in `stallChecks`.
        let serial: Int
        var attached = false

        init(id: String, serial: Int, handle: HTTPEasyHandle, state: HTTPTransferState,
             onEnd: @escaping (Result<HTTPResponseHead, HTTPClientError>) -> Void) {
            self.id = id
            self.serial = serial
            self.handle = handle
            self.state = state
            self.onEnd = onEnd
        }
    }

    private let multiHandle: HTTPMultiHandle
    private var multi: UnsafeMutableRawPointer { multiHandle.raw }
    private var entries: [String: Entry] = [:]
    private var byHandle: [UnsafeMutableRawPointer: Entry] = [:]
    /// libcurl refuses add/remove from inside its own callbacks: those wait here until `curl_multi_socket_action` returns.
    private var performing = false
    private var pendingAdds: [Entry] = []
    private var pendingDetaches: [Entry] = []
    /// When each stream with an idle limit is next to be looked at (its last activity plus the limit, as of the last
    /// look): a poll pops only the due ones, instead of walking every stream.
    private var stallChecks = DeadlineHeap<(id: String, serial: Int)>()
    private var nextSerial = 0
    /// `poll`'s buffers for the descriptors epoll reports ready and their `CURL_CSELECT_*` flags.
    private var readyDescriptors = [Int32](repeating: -1, count: 256)
    private var readyFlags = [Int32](repeating: 0, count: 256)
    private var nextStallCheck = 0.0
    /// Idle time of the streams counts only while this set listens (see `ListeningClock`).
    private let clock = ListeningClock()
    /// When the last poll returned: the time until the next one is the owner's, not listening.
    private var lastReturn: Double?
    /// How often, at most, the due stall checks run (a stall is noticed up to this late, besides libcurl's own
    /// progress callback, which checks about once a second).
    static let stallCheckInterval = 0.25

    /// Creates an empty set.
    public init() throws {
        multiHandle = try HTTPMultiHandle()
    }

    /// A handle other threads may use to cut a waiting ``poll(timeout:)`` short.
    public var waker: HTTPStreamSetWaker { HTTPStreamSetWaker(multi: multiHandle) }

    deinit {
        for entry in byHandle.values { curl_multi_remove_handle(multi, entry.handle.raw) }
        byHandle.removeAll()
        entries.removeAll()
        stallChecks = DeadlineHeap()
        pendingAdds.removeAll()
        pendingDetaches.removeAll()
    }

    /// How many streams are being followed.
    public var count: Int { entries.count }

    /// The ids of the streams being followed.
    public var ids: [String] { Array(entries.keys) }

    /// Whether a stream with this id is being followed.
    public func contains(_ id: String) -> Bool { entries[id] != nil }

    /// Starts following `request` under `id`, which must not be in use. The transfer starts in the next poll.
    public func add(
        _ request: HTTPRequest,
        id: String,
        onHead: @escaping (HTTPResponseHead) -> Bool,
        onBytes: @escaping ([UInt8]) -> Bool,
        onEnd: @escaping (Result<HTTPResponseHead, HTTPClientError>) -> Void
    ) throws {
        guard entries[id] == nil else {
            throw HTTPClientError(
                kind: .other, code: Int32(bitPattern: CURLE_BAD_FUNCTION_ARGUMENT.rawValue), call: "HTTPStreamSet.add",
                requestNotSent: true, target: request.redactedTarget, detail: "a stream with this id is already followed")
        }
        let handle = try HTTPEasyHandle()
        let state = HTTPTransferState(request: request, onHead: onHead, onBytes: onBytes, clock: clock)
        try handle.configure(for: request, state: state)
        nextSerial += 1
        let entry = Entry(id: id, serial: nextSerial, handle: handle, state: state, onEnd: onEnd)
        if stallChecks.count > 2 * entries.count + 1024 { rebuildStallChecks() }
        entries[id] = entry
        if let deadline = state.idleDeadline { stallChecks.push((id, entry.serial), at: deadline) }
        if performing {
            pendingAdds.append(entry)
        } else {
            try attach(entry)
        }
    }

    /// Stops following the stream `id` (closing its connection) without calling its `onEnd`.
    public func remove(_ id: String) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        entry.state.cancelled = true
        if performing {
            pendingDetaches.append(entry)
        } else {
            detach(entry)
        }
    }

    /// Waits up to `timeout` seconds for network activity, libcurl's next timer or a ``HTTPStreamSetWaker/wakeUp()``;
    /// moves the streams whose sockets are ready (or whose timers are due) forward, running their callbacks, and
    /// ends the finished ones. Returns how many streams are still followed. With nothing to follow it just waits.
    @discardableResult
    public func poll(timeout: Double) throws -> Int {
        if let lastReturn { clock.away(HTTPTransferState.now() - lastReturn) }
        defer { lastReturn = HTTPTransferState.now() }
        var wait = max(0, timeout)
        if let due = multiHandle.timerDeadline { wait = min(wait, max(0, due - HTTPTransferState.now())) }
        let milliseconds = Int32(clamping: Int((wait * 1000).rounded(.up)))
        let ready = ml_epoll_wait(multiHandle.epoll, &readyDescriptors, &readyFlags, Int32(readyDescriptors.count),
                                  milliseconds)
        guard ready >= 0 else {
            let failure = errno
            throw HTTPClientError(kind: .other, code: failure, call: "epoll_wait", requestNotSent: true,
                                  detail: String(cString: strerror(failure)))
        }

        var running: Int32 = 0
        var failed = CURLM_OK
        performing = true
        for index in 0..<Int(ready) {
            let descriptor = readyDescriptors[index]
            if descriptor == multiHandle.wakeDescriptor {
                ml_eventfd_drain(descriptor)
                continue
            }
            let code = curl_multi_socket_action(multi, descriptor, readyFlags[index], &running)
            if code != CURLM_OK { failed = code }
        }
        if let due = multiHandle.timerDeadline, HTTPTransferState.now() >= due {
            // Cleared first: the action usually sets the next deadline.
            multiHandle.timerDeadline = nil
            let code = curl_multi_socket_action(multi, Self.timeoutSocket, 0, &running)
            if code != CURLM_OK { failed = code }
        }
        performing = false
        applyPending()
        try check(failed, "curl_multi_socket_action")

        finishCompleted()
        endStalled()
        return entries.count
    }

    /// `CURL_SOCKET_TIMEOUT` (a cast macro Swift does not import): "act on the timer, no socket".
    private static let timeoutSocket: Int32 = -1

    private func attach(_ entry: Entry) throws {
        let code = curl_multi_add_handle(multi, entry.handle.raw)
        guard code == CURLM_OK else {
            entries[entry.id] = nil
            try check(code, "curl_multi_add_handle")
            return
        }
        entry.attached = true
        byHandle[entry.handle.raw] = entry
    }

    private func detach(_ entry: Entry) {
        if entry.attached {
            curl_multi_remove_handle(multi, entry.handle.raw)
            entry.attached = false
        }
        byHandle[entry.handle.raw] = nil
    }

    private func applyPending() {
        let detaches = pendingDetaches
        pendingDetaches.removeAll()
        for entry in detaches { detach(entry) }
        let adds = pendingAdds
        pendingAdds.removeAll()
        for entry in adds where entries[entry.id] === entry {
            do {
                try attach(entry)
            } catch let error as HTTPClientError {
                entry.onEnd(.failure(error))
            } catch {
                entry.onEnd(.failure(HTTPClientError(kind: .other, code: 0, call: "curl_multi_add_handle", requestNotSent: true)))
            }
        }
    }

    /// Reads libcurl's completion messages and ends those streams.
    private func finishCompleted() {
        var remaining: Int32 = 0
        var done: [(Entry, CURLcode)] = []
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                  let entry = byHandle[easy] else { continue }
            done.append((entry, message.pointee.data.result))
        }
        // The messages point into libcurl memory that removing handles frees: copy them out first.
        for (entry, code) in done {
            detach(entry)
            guard entries[entry.id] === entry else { continue }
            entries[entry.id] = nil
            let result = Result {
                try HTTPClient.outcome(of: code, handle: entry.handle, state: entry.state, call: "curl_multi_socket_action")
            }
            clock.timing { entry.onEnd(result.mapError { error in
                error as? HTTPClientError
                    ?? HTTPClientError(kind: .other, code: Int32(bitPattern: code.rawValue), call: "curl_multi_socket_action",
                                       requestNotSent: false)
            }) }
        }
    }

    /// Ends streams that moved no byte for their idle limit even if libcurl did not call their progress callback.
    /// Looks only at the streams whose check is due (at most every `stallCheckInterval`); one that moved meanwhile
    /// is checked again at its new deadline, one that is gone is dropped.
    private func endStalled() {
        let wall = HTTPTransferState.now()
        guard wall >= nextStallCheck else { return }
        nextStallCheck = wall + Self.stallCheckInterval
        let now = clock.now()
        for (id, serial) in stallChecks.popDue(now: now) {
            guard let entry = entries[id], entry.serial == serial else { continue }
            entry.state.checkIdle(now: now)
            guard entry.state.stalled else {
                if let deadline = entry.state.idleDeadline { stallChecks.push((id, serial), at: deadline) }
                continue
            }
            entries[entry.id] = nil
            detach(entry)
            clock.timing { entry.onEnd(.failure(HTTPClientError(
                kind: .stalled, code: Int32(bitPattern: CURLE_ABORTED_BY_CALLBACK.rawValue), call: "curl_multi_socket_action",
                requestNotSent: !entry.handle.requestStarted, target: entry.state.target,
                detail: "no data within the idle timeout"))) }
        }
    }

    /// Drops the checks of streams already gone (many short transfers with long idle limits would pile them up).
    private func rebuildStallChecks() {
        stallChecks = DeadlineHeap()
        for entry in entries.values {
            if let deadline = entry.state.idleDeadline { stallChecks.push((entry.id, entry.serial), at: deadline) }
        }
    }

    private func check(_ code: CURLMcode, _ call: String) throws {
        guard code == CURLM_OK else {
            throw HTTPClientError(
                kind: .other, code: code.rawValue, call: call, requestNotSent: true,
                detail: String(cString: curl_multi_strerror(code)))
        }
    }
}
