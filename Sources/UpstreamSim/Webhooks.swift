import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 POST over a plain TCP socket (webhook targets are local test receivers).
enum TinyHTTPClient {
    /// Returns the status code, or throws a description of the connection failure.
    static func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Double = 10) -> Result<Int, TinyClientError> {
        guard let u = URL(string: url), u.scheme == "http", let host = u.host else { return .failure(.init("unsupported url")) }
        let port = u.port ?? 80
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { return .failure(.init("resolve failed")) }
        defer { freeaddrinfo(res) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, 0)
        guard fd >= 0 else { return .failure(.init("socket failed")) }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else { return .failure(.init("connect failed")) }
        var path = u.path.isEmpty ? "/" : u.path
        if let q = u.query { path += "?" + q }
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\nConnection: close\r\nUser-Agent: upstream-sim-webhooks\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + body
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return .failure(.init("send failed")) }
            off += n
        }
        var buf = [UInt8](repeating: 0, count: 4096)
        var got: [UInt8] = []
        while !got.contains(0x0a) {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 4096, 0) }
            if n <= 0 { return .failure(.init("no response")) }
            got += buf[0..<n]
        }
        let line = String(decoding: got.prefix { $0 != 0x0d && $0 != 0x0a }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, let code = Int(parts[1]) else { return .failure(.init("bad status line")) }
        return .success(code)
    }
}

/// A webhook delivery failure before any HTTP status arrived.
struct TinyClientError: Error {
    let reason: String
    init(_ r: String) { reason = r }
}

extension Simulator {
    /// Starts the engine thread: materializes group events and fires webhooks.
    func startEngine() {
        let t = Thread { [self] in
            while true {
                tick()
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        t.name = "engine"
        t.start()
    }

    func tick() {
        var due: [(Run, JSON)] = []
        locked {
            let now = Date()
            let before = groups.values.reduce(0) { $0 + $1.events.count }
            for g in groups.values { tickGroup(g, at: now) }
            let groupsChanged = groups.values.reduce(0) { $0 + $1.events.count } != before
            for id in pendingWebhooks {
                guard let r = runs[id], r.webhookURL != nil, !r.webhookScheduled else { continue }
                var fireAt = r.terminalAt
                if r.fault("webhook_out_of_order") != nil {
                    fireAt = max(r.created, fireAt.addingTimeInterval(-max(config.real(1), 0.2)))
                }
                guard now >= fireAt else { continue }
                r.webhookScheduled = true
                due.append((r, r.json(at: r.terminalAt.addingTimeInterval(0.001))))
            }
            if !due.isEmpty { pendingWebhooks.removeAll { id in runs[id]?.webhookScheduled ?? true } }
            // Only when something changed: this runs every 10 ms, and a broadcast wakes every held stream (3,000
            // held event streams woken 100 times a second kept a 2-core machine at a load average of 400).
            if groupsChanged || !due.isEmpty { cond.broadcast() }
        }
        for (r, runJSON) in due { deliverWebhook(r, runJSON) }
    }

    func deliverWebhook(_ run: Run, _ runJSON: JSON) {
        guard let url = run.webhookURL else { return }
        let id = IDs.webhookEvent()
        if run.fault("webhook_none") != nil {
            recordWebhook(["webhook_id": .string(id), "run_id": .string(run.id), "url": .string(url), "attempt": 0,
                           "suppressed": true])
            return
        }
        let body: JSON = .object([("timestamp", .string(Timestamp.format(Date()))), ("type", "task_run.status"), ("data", runJSON)])
        let bytes = Array(body.compact.utf8)
        let copies = run.fault("webhook_duplicate") != nil ? 2 : 1
        let t = Thread { [self] in
            for copy in 0..<copies {
                var attempt = 0
                while attempt < config.webhookMaxAttempts {
                    attempt += 1
                    var ts = Int(Date().timeIntervalSince1970)
                    if let stale = run.fault("webhook_stale") { ts -= stale.int("age", 3600) }
                    var key = config.webhookKey
                    if run.fault("webhook_bad_signature") != nil { key = Array("wrong-secret".utf8) }
                    let sig = webhookSignature(key: key, id: id, timestamp: String(ts), body: bytes)
                    let headers = [("Content-Type", "application/json"), ("webhook-id", id),
                                   ("webhook-timestamp", String(ts)), ("webhook-signature", sig)]
                    let result = TinyHTTPClient.post(url: url, headers: headers, body: bytes)
                    var rec: [String: JSON] = ["webhook_id": .string(id), "run_id": .string(run.id), "url": .string(url),
                                               "attempt": .num(attempt), "copy": .num(copy + 1),
                                               "webhook_timestamp": .string(String(ts)), "webhook_signature": .string(sig),
                                               "body": .string(body.compact), "status": .null, "error": .null]
                    var ok = false
                    switch result {
                    case let .success(code): rec["status"] = .num(code); ok = (200..<300).contains(code)
                    case let .failure(e): rec["error"] = .string(e.reason)
                    }
                    recordWebhook(rec)
                    simLog("webhook \(id) run \(run.id) attempt \(attempt): \(ok ? "delivered" : "failed")")
                    if ok { break }
                    Thread.sleep(forTimeInterval: config.real(5 * pow(2, Double(attempt - 1))))
                }
                if copy + 1 < copies { Thread.sleep(forTimeInterval: 0.05) }
            }
        }
        t.start()
    }

    func recordWebhook(_ fields: [String: JSON]) {
        var rec = fields
        rec["time"] = .string(Timestamp.format(Date()))
        let order = ["time", "webhook_id", "run_id", "url", "attempt", "copy", "status", "error", "suppressed",
                     "webhook_timestamp", "webhook_signature", "body"]
        let json: JSON = .object(order.compactMap { k in rec[k].map { (k, $0) } })
        locked { webhookLog.append(json) }
    }
}
