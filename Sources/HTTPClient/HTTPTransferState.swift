internal import CCurl
import Foundation

/// Everything libcurl's callbacks need for one transfer. Passed to curl as an unretained pointer, so its owner
/// keeps it alive until curl has stopped using the easy handle (the end of the perform, or removal from a multi).
final class HTTPTransferState {
    let target: String
    let followRedirects: Bool
    let idleTimeout: Double?
    /// Called once with the final head; false aborts the transfer.
    let onHead: (HTTPResponseHead) -> Bool
    /// Called with each body chunk; false ends the transfer cleanly.
    let onBytes: ([UInt8]) -> Bool
    /// Polled from the progress callback (about once a second, even while idle); true ends the transfer cleanly.
    let shouldStop: (() -> Bool)?

    /// libcurl writes its message for the last failure here (CURLOPT_ERRORBUFFER).
    let errorBuffer: UnsafeMutablePointer<CChar>

    private var pendingStatus: Int?
    private var pendingHeaders: [(name: String, value: String)] = []
    /// The final head, once delivered to `onHead`.
    private(set) var head: HTTPResponseHead?
    /// Set when `onHead` returned false.
    private(set) var headRejected = false
    /// Set when `onBytes` returned false or `shouldStop` returned true: the end the caller asked for.
    private(set) var stoppedByReader = false
    /// Set when the idle limit passed.
    private(set) var stalled = false
    /// Set by the owner to abort from outside the callbacks (a removed stream).
    var cancelled = false

    /// Idle time is counted on this clock: for a stream of an `HTTPStreamSet`, only while the set was listening.
    let clock: ListeningClock?
    private var lastActivity: Double
    private var lastDownloaded = 0
    private var lastUploaded = 0

    init(
        request: HTTPRequest,
        onHead: @escaping (HTTPResponseHead) -> Bool,
        onBytes: @escaping ([UInt8]) -> Bool,
        shouldStop: (() -> Bool)? = nil,
        clock: ListeningClock? = nil
    ) {
        self.shouldStop = shouldStop
        self.clock = clock
        target = request.redactedTarget
        followRedirects = request.followRedirects
        idleTimeout = request.idleTimeout
        self.onHead = onHead
        self.onBytes = onBytes
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        lastActivity = clock?.now() ?? HTTPTransferState.now()
    }

    deinit {
        errorBuffer.deallocate()
    }

    /// libcurl's message for the failure, if it wrote one.
    var errorMessage: String {
        String(cString: errorBuffer)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Whether the transfer should go on; called from every callback.
    private var shouldContinue: Bool { !cancelled && !stalled }

    /// One header line (status line, field, or the blank line ending a head). Returns false to abort.
    func receiveHeaderLine(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        lastActivity = idleNow()
        guard shouldContinue else { return false }
        // Trailers and anything after the final head are of no interest.
        guard head == nil else { return true }
        var length = bytes.count
        while length > 0, bytes[length - 1] == UInt8(ascii: "\n") || bytes[length - 1] == UInt8(ascii: "\r") {
            length -= 1
        }
        // Header bytes are ASCII in practice; UTF-8 with replacement keeps odd values readable.
        let line = Substring(String(decoding: UnsafeBufferPointer(rebasing: bytes[..<length]), as: UTF8.self))
        if line.hasPrefix("HTTP/") {
            // A new status line starts a new head: forget a 100 Continue's, a proxy CONNECT's, a redirect's.
            let parts = line.split(separator: " ", maxSplits: 2)
            pendingStatus = parts.count > 1 ? Int(parts[1]) : nil
            pendingHeaders = []
            return true
        }
        if line.isEmpty {
            return finishHead()
        }
        if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            pendingHeaders.append((name: name, value: value))
        } else if let first = line.first, first == " " || first == "\t", !pendingHeaders.isEmpty {
            // Obsolete line folding: a continuation of the previous value.
            pendingHeaders[pendingHeaders.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
        }
        return true
    }

    private func finishHead() -> Bool {
        guard let status = pendingStatus else { return true }
        pendingStatus = nil
        if status < 200 { return true }
        let candidate = HTTPResponseHead(status: status, headers: pendingHeaders)
        pendingHeaders = []
        if followRedirects, (300..<400).contains(status), candidate.header("location") != nil {
            return true
        }
        return deliver(candidate)
    }

    private func deliver(_ candidate: HTTPResponseHead) -> Bool {
        head = candidate
        if !(clock?.timing { onHead(candidate) } ?? onHead(candidate)) {
            headRejected = true
            return false
        }
        return true
    }

    /// One chunk of body. Returns false to stop the transfer.
    func receiveBody(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        lastActivity = idleNow()
        guard shouldContinue else { return false }
        if head == nil {
            // HTTP/0.9 or a server that skipped the blank line: still give the caller a head first.
            guard deliver(HTTPResponseHead(status: pendingStatus ?? 0, headers: pendingHeaders)) else { return false }
        }
        let chunk = Array(bytes)
        if !(clock?.timing { onBytes(chunk) } ?? onBytes(chunk)) {
            stoppedByReader = true
            return false
        }
        return true
    }

    /// Progress tick, about once a second even when idle. Returns false to abort.
    func progress(downloaded: Int, uploaded: Int) -> Bool {
        let now = idleNow()
        if downloaded != lastDownloaded || uploaded != lastUploaded {
            lastDownloaded = downloaded
            lastUploaded = uploaded
            lastActivity = now
        }
        checkIdle(now: now)
        if shouldContinue, !stoppedByReader, let shouldStop, shouldStop() {
            stoppedByReader = true
            return false
        }
        return shouldContinue
    }

    /// Now, on the clock idle time is counted on.
    func idleNow() -> Double { clock?.now() ?? HTTPTransferState.now() }

    /// When (on `idleNow()`'s clock) the transfer counts as stalled if nothing moves before; nil without a limit.
    var idleDeadline: Double? {
        guard let idle = idleTimeout, idle > 0 else { return nil }
        return lastActivity + idle
    }

    /// Marks the transfer stalled when nothing moved for longer than the idle limit (`now` on `idleNow()`'s clock).
    func checkIdle(now: Double) {
        if let idle = idleTimeout, idle > 0, now - lastActivity >= idle {
            stalled = true
        }
    }

    /// The head to report for a transfer that ended without error, delivering it first if a body-less
    /// response never reached `onHead`.
    func completedHead(status: Int) -> HTTPResponseHead? {
        if let head { return head }
        let fallback = HTTPResponseHead(status: pendingStatus ?? status, headers: pendingHeaders)
        return deliver(fallback) ? fallback : nil
    }
}

/// Time in which an `HTTPStreamSet` was listening: the monotonic clock minus the time its thread spent elsewhere
/// (the owner's work between polls, the callbacks' own work). A stream counts as idle only for time the set was
/// listening and heard nothing from it, so a loop that was busy for seconds (thousands of events to parse after
/// following many runs at once) does not take the data waiting in its sockets for a stall.
final class ListeningClock {
    private var elsewhere = 0.0

    /// A clock that has not been elsewhere yet.
    init() {}

    /// Seconds listened so far (comparable with earlier readings of this clock only).
    func now() -> Double { HTTPTransferState.now() - elsewhere }

    /// Counts `seconds` as spent elsewhere.
    func away(_ seconds: Double) { elsewhere += max(0, seconds) }

    /// Runs `body`, counting its time as spent elsewhere.
    func timing<T>(_ body: () -> T) -> T {
        let started = HTTPTransferState.now()
        defer { away(HTTPTransferState.now() - started) }
        return body()
    }
}
