import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Handles one request; it must write a complete response (or close the connection).
typealias RequestHandler = @Sendable (HTTPRequest, Connection) -> Void

/// Failure to open the listening socket.
struct ListenError: Error, CustomStringConvertible {
    let call: String
    let code: Int32
    var description: String { "\(call) failed: \(String(cString: strerror(code)))" }
}

/// A minimal HTTP/1.1 server on POSIX sockets: one thread per connection, keep-alive.
final class HTTPServer: @unchecked Sendable {
    let listenFD: Int32
    let port: Int
    private let handler: RequestHandler

    init(host: String, port: Int, handler: @escaping RequestHandler) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ListenError(call: "socket", code: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &addr.sin_addr) == 1 else {
            close(fd)
            throw ListenError(call: "inet_pton", code: EINVAL)
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { let e = errno; close(fd); throw ListenError(call: "bind", code: e) }
        // A deep backlog: a monitor opens thousands of event streams at once after claiming its runs.
        guard listen(fd, 4096) == 0 else { let e = errno; close(fd); throw ListenError(call: "listen", code: e) }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.listenFD = fd
        self.port = Int(UInt16(bigEndian: bound.sin_port))
        self.handler = handler
    }

    /// Starts the accept loop on its own thread.
    func start() {
        let t = Thread { [self] in acceptLoop() }
        t.name = "accept-\(port)"
        t.start()
    }

    private func acceptLoop() {
        while true {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                usleep(10_000)
                continue
            }
            let handler = self.handler
            let t = Thread {
                let conn = Connection(fd: c)
                serve(conn, handler)
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }
}

private func serve(_ conn: Connection, _ handler: RequestHandler) {
    while !conn.closed, let req = conn.readRequest() {
        handler(req, conn)
        if conn.mustClose { conn.close(); return }
    }
    conn.close()
}
