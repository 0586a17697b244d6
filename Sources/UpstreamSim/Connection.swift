import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The client went away while we were writing.
struct ClientGone: Error {}

/// One accepted TCP connection with raw, unbuffered writes (each `write` is one `send` burst).
final class Connection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var closed = false
    /// Set by a handler that streamed or broke the connection, so the server does not reuse it.
    var mustClose = false
    /// Whether the response in progress uses chunked transfer encoding.
    var chunked = false

    init(fd: Int32) {
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // Idle keep-alive connections give their thread back after two minutes.
        var tv = timeval(tv_sec: 120, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if !closed { Glibc.close(fd) } }

    // MARK: reading

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func readLine() -> String? {
        while true {
            if let i = buffer.firstIndex(of: 0x0a) {
                var line = Array(buffer[0..<i])
                buffer.removeFirst(i + 1)
                if line.last == 0x0d { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            if buffer.count > 1_000_000 || !fill() { return nil }
        }
    }

    private func readExactly(_ n: Int) -> [UInt8]? {
        while buffer.count < n { if !fill() { return nil } }
        let out = Array(buffer[0..<n])
        buffer.removeFirst(n)
        return out
    }

    /// Reads the next request; nil on EOF or a malformed request.
    func readRequest() -> HTTPRequest? {
        var requestLine = ""
        repeat {
            guard let l = readLine() else { return nil }
            requestLine = l
        } while requestLine.isEmpty
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2 else { return nil }
        var headers: [(String, String)] = []
        while let l = readLine(), !l.isEmpty {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers.append((String(l[..<c]).trimmingCharacters(in: .whitespaces),
                            String(l[l.index(after: c)...]).trimmingCharacters(in: .whitespaces)))
        }
        func h(_ name: String) -> String? { headers.first(where: { $0.0.lowercased() == name })?.1 }
        if h("expect")?.lowercased() == "100-continue" { try? writeRaw(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
        var body: [UInt8] = []
        if h("transfer-encoding")?.lowercased().contains("chunked") == true {
            while true {
                guard let sizeLine = readLine(),
                      let size = Int(sizeLine.split(separator: ";")[0].trimmingCharacters(in: .whitespaces), radix: 16)
                else { return nil }
                if size == 0 {
                    while let l = readLine(), !l.isEmpty {}
                    break
                }
                guard let chunk = readExactly(size), readLine() != nil else { return nil }
                body += chunk
            }
        } else if let len = h("content-length").flatMap({ Int($0) }), len > 0 {
            guard let b = readExactly(len) else { return nil }
            body = b
        }
        let target = String(parts[1])
        let (path, query) = HTTPRequest.splitTarget(target)
        if h("connection")?.lowercased() == "close" || parts.count > 2 && parts[2] == "HTTP/1.0" { mustClose = true }
        return HTTPRequest(method: String(parts[0]), target: target, path: path, query: query, headers: headers,
                           body: Data(body))
    }

    // MARK: writing

    /// Sends all bytes at once; throws `ClientGone` when the peer has gone.
    func writeRaw(_ bytes: [UInt8]) throws {
        guard !closed else { throw ClientGone() }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                throw ClientGone()
            }
            off += n
        }
    }

    /// Writes the status line and headers. With `body == nil` the body is streamed (chunked unless `rawStream`).
    func writeHead(status: Int, headers: [(String, String)], contentLength: Int?, rawStream: Bool = false) throws {
        var s = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        for (k, v) in headers { s += "\(k): \(v)\r\n" }
        s += "Date: \(httpDate(Date()))\r\n"
        if let n = contentLength {
            s += "Content-Length: \(n)\r\n"
            chunked = false
        } else if rawStream {
            s += "Connection: close\r\n"
            mustClose = true
            chunked = false
        } else {
            s += "Transfer-Encoding: chunked\r\n"
            chunked = true
        }
        if mustClose && contentLength != nil { s += "Connection: close\r\n" }
        s += "\r\n"
        try writeRaw(Array(s.utf8))
    }

    /// Writes one piece of a streamed body as its own TCP write (one chunk when chunked).
    func writeBody(_ text: String) throws { try writeBody(Array(text.utf8)) }

    func writeBody(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        if chunked {
            try writeRaw(Array(String(bytes.count, radix: 16).utf8) + [0x0d, 0x0a] + bytes + [0x0d, 0x0a])
        } else {
            try writeRaw(bytes)
        }
    }

    /// Ends a streamed body cleanly.
    func finishBody() throws {
        if chunked { try writeRaw(Array("0\r\n\r\n".utf8)) }
    }

    /// Sends a complete response.
    func respond(status: Int, headers: [(String, String)] = [], body: Data = Data()) throws {
        try writeHead(status: status, headers: headers, contentLength: body.count)
        try writeRaw([UInt8](body))
    }

    func respondJSON(_ status: Int, _ json: JSON, headers: [(String, String)] = []) throws {
        try respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: json.data)
    }

    /// Closes the socket (a FIN; the client sees EOF).
    func close() {
        guard !closed else { return }
        closed = true
        mustClose = true
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    /// Resets the connection: SO_LINGER 0 then close sends a TCP RST.
    func reset() {
        guard !closed else { return }
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        closed = true
        mustClose = true
        Glibc.close(fd)
    }

    /// True once the peer has closed its side (checked without blocking).
    var peerClosed: Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        if p.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n == 0
    }
}

/// RFC 7231 IMF-fixdate.
func httpDate(_ d: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return f.string(from: d)
}
