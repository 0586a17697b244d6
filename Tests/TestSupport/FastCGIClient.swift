#if canImport(Glibc)
import Glibc
#endif

/// A tiny FastCGI client for tests: speaks the wire protocol (BEGIN_REQUEST, PARAMS, STDIN, then STDOUT and
/// END_REQUEST) over a unix socket, the way nginx does, and parses the CGI response.
public enum FastCGIClient {
    /// A parsed response: the `Status:` code (200 when absent), header fields in order, and the body.
    public typealias Response = (status: Int, headers: [(String, String)], body: [UInt8])

    /// A client-side failure, with the libc call and errno when there is one.
    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        public let code: Int32
        public var description: String { code == 0 ? message : "\(message): \(String(cString: strerror(code)))" }
    }

    /// Sends one request and reads the whole response.
    public static func send(
        socketPath: String, params: [String: String], body: [UInt8] = [], timeout: Double = 10
    ) throws -> Response {
        let connection = try Connection(socketPath: socketPath, timeout: timeout)
        defer { connection.close() }
        try connection.sendRequest(params: params, body: body)
        var output: [UInt8] = []
        while let chunk = try connection.nextOutput() { output += chunk }
        return try parse(output)
    }

    /// Sends arbitrary bytes (e.g. malformed records), half-closes, and returns whatever comes back until EOF.
    public static func sendRaw(socketPath: String, bytes: [UInt8], timeout: Double = 10) throws -> [UInt8] {
        let connection = try Connection(socketPath: socketPath, timeout: timeout)
        defer { connection.close() }
        try connection.writeAll(bytes)
        shutdown(connection.fd, Int32(SHUT_WR))
        var received: [UInt8] = []
        while let bytes = try connection.readSome() { received += bytes }
        return received
    }

    /// The params nginx's `fastcgi_params` would send for a request (plus `REQUEST_ID` when given).
    public static func params(
        method: String = "GET", uri: String = "/", headers: [(String, String)] = [], body: [UInt8] = [],
        requestID: String? = nil
    ) -> [String: String] {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var result = [
            "REQUEST_METHOD": method, "REQUEST_URI": uri, "DOCUMENT_URI": String(parts[0]),
            "QUERY_STRING": parts.count > 1 ? String(parts[1]) : "", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "localhost", "HTTPS": "on", "REQUEST_SCHEME": "https",
        ]
        if !body.isEmpty || method == "POST" || method == "PUT" { result["CONTENT_LENGTH"] = String(body.count) }
        if let requestID { result["REQUEST_ID"] = requestID }
        for (name, value) in headers {
            let key = String(name.uppercased().map { $0 == "-" ? "_" : $0 })
            if key == "CONTENT_TYPE" || key == "CONTENT_LENGTH" { result[key] = value } else { result["HTTP_" + key] = value }
        }
        return result
    }

    /// The value of the first header named `name` (case-insensitive).
    public static func header(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Splits CGI output into status, headers and body.
    public static func parse(_ output: [UInt8]) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = output.firstRange(of: separator) else {
            throw Failure(message: "no header terminator in \(output.count) bytes of output", code: 0)
        }
        var status = 200
        var headers: [(String, String)] = []
        for line in String(decoding: output[..<end.lowerBound], as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingPrefix(" ")
            if name.lowercased() == "status" {
                status = Int(value.prefix(3)) ?? 0
            } else {
                headers.append((name, String(value)))
            }
        }
        return (status, headers, Array(output[end.upperBound...]))
    }

    // MARK: - Records

    static let beginRequest: UInt8 = 1, endRequest: UInt8 = 3, paramsType: UInt8 = 4, stdin: UInt8 = 5
    static let stdout: UInt8 = 6, stderr: UInt8 = 7

    /// One FastCGI record: 8-byte header, content, no padding.
    public static func record(type: UInt8, requestID: UInt16 = 1, content: [UInt8]) -> [UInt8] {
        precondition(content.count <= 0xFFFF, "record content too long")
        return [1, type, UInt8(requestID >> 8), UInt8(requestID & 0xFF),
                UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0] + content
    }

    /// The records of a whole request: BEGIN_REQUEST (responder, no keep-alive), PARAMS, empty PARAMS, STDIN
    /// chunks, empty STDIN.
    public static func requestRecords(params: [String: String], body: [UInt8]) -> [UInt8] {
        var bytes = record(type: beginRequest, content: [0, 1, 0, 0, 0, 0, 0, 0])
        var encoded: [UInt8] = []
        for (name, value) in params.sorted(by: { $0.key < $1.key }) {
            let n = Array(name.utf8), v = Array(value.utf8)
            encoded += encodeLength(n.count) + encodeLength(v.count) + n + v
        }
        for start in stride(from: 0, to: encoded.count, by: 0xFFFF) {
            bytes += record(type: paramsType, content: Array(encoded[start..<min(start + 0xFFFF, encoded.count)]))
        }
        bytes += record(type: paramsType, content: [])
        for start in stride(from: 0, to: body.count, by: 0xFFFF) {
            bytes += record(type: stdin, content: Array(body[start..<min(start + 0xFFFF, body.count)]))
        }
        return bytes + record(type: stdin, content: [])
    }

    static func encodeLength(_ length: Int) -> [UInt8] {
        length < 128 ? [UInt8(length)]
            : [UInt8((length >> 24) & 0x7F) | 0x80, UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF),
               UInt8(length & 0xFF)]
    }

    // MARK: - Connection

    /// One connection, for streaming reads and early disconnects.
    public final class Connection {
        let fd: Int32
        private var buffer: [UInt8] = []
        private var ended = false

        /// Connects to `socketPath`; reads and writes fail after `timeout` seconds without progress.
        public init(socketPath: String, timeout: Double = 10) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw Failure(message: "socket", code: errno) }
            var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let path = Array(socketPath.utf8)
            guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
                Glibc.close(fd)
                throw Failure(message: "socket path too long", code: 0)
            }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path + [0]) }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard connected == 0 else {
                let code = errno
                Glibc.close(fd)
                throw Failure(message: "connect \(socketPath)", code: code)
            }
        }

        deinit { close() }

        /// Sends a complete request.
        public func sendRequest(params: [String: String], body: [UInt8] = []) throws {
            try writeAll(FastCGIClient.requestRecords(params: params, body: body))
        }

        /// Writes raw bytes (no SIGPIPE: a closed peer shows up as an error).
        public func writeAll(_ bytes: [UInt8]) throws {
            var offset = 0
            while offset < bytes.count {
                let sent = bytes.withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                }
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw Failure(message: "send", code: errno)
                }
                offset += sent
            }
        }

        /// Reads whatever is available; nil at end of stream.
        public func readSome() throws -> [UInt8]? {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 { return Array(chunk[0..<count]) }
                if count == 0 { return nil }
                if errno == EINTR { continue }
                throw Failure(message: errno == EAGAIN ? "read timed out" : "recv", code: errno)
            }
        }

        /// The content of the next non-empty STDOUT record; nil after END_REQUEST or end of stream.
        /// STDERR records are skipped.
        public func nextOutput() throws -> [UInt8]? {
            while !ended {
                while buffer.count >= 8 {
                    let length = Int(buffer[4]) << 8 | Int(buffer[5])
                    let total = 8 + length + Int(buffer[6])
                    guard buffer.count >= total else { break }
                    let type = buffer[1]
                    let content = Array(buffer[8..<(8 + length)])
                    buffer.removeFirst(total)
                    if type == FastCGIClient.endRequest { ended = true; return nil }
                    if type == FastCGIClient.stdout && !content.isEmpty { return content }
                }
                guard let bytes = try readSome() else { ended = true; return nil }
                buffer += bytes
            }
            return nil
        }

        /// Disconnects (idempotent).
        public func close() {
            if !closed { Glibc.close(fd) }
            closed = true
        }

        private var closed = false
    }
}

extension FastCGIClient {
    /// A fresh, unused unix socket path inside `directory` (created if missing); short enough for `sun_path`.
    public static func temporarySocketPath(directory: String = "/tmp/fastcgi") -> String {
        mkdir(directory, 0o755)
        return "\(directory)/t-\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF).sock"
    }
}
