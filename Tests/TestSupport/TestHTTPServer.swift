import Foundation

/// A small local HTTP/1.1 server (Python's `http.server`) for testing HTTP clients against real sockets.
///
/// One instance per test process (and one more speaking TLS), started on first use on an ephemeral 127.0.0.1 port. It exits when the test
/// process does (it watches its stdin pipe for end of file). Endpoints:
/// - `/echo`: JSON `{"method","path","headers":[[name,value]],"body","clientPort"}` (body as Latin-1; the
///   client's TCP port shows connection reuse), header `X-Echo: yes`
/// - `/status/<code>`: that status with body `status <code>` and `Retry-After: 7`
/// - `/slow?delay=s`: answers `late` after `s` seconds
/// - `/redirect`: 302 to `/echo?from=redirect`
/// - `/stream?n=&interval=`: chunked SSE, `data: <i> <time>` then a blank line, every `interval` s
/// - `/stall?for=s`: chunked SSE head and one comment, then silence for `s` seconds
/// - `/endless`: chunked `data: tick` events every 50 ms until the client leaves
/// - `/close`: closes the connection without answering
public struct TestHTTPServer: Sendable {
    /// The port the server listens on.
    public let port: Int
    /// For the TLS server, the PEM file of its self-signed certificate (for 127.0.0.1), to trust as a CA.
    public let certificatePath: String?
    private let process: ProcessBox

    /// `http://127.0.0.1:<port>`, or `https://` for the TLS server.
    public var baseURL: String { "\(certificatePath == nil ? "http" : "https")://127.0.0.1:\(port)" }

    /// The URL of `path` (which starts with `/`) on this server.
    public func url(_ path: String) -> String { baseURL + path }

    /// The shared server, started on first use.
    public static func shared() throws -> TestHTTPServer {
        try sharedResult.get()
    }

    /// The shared HTTPS server (same endpoints, a fresh self-signed certificate made with `openssl`).
    public static func sharedTLS() throws -> TestHTTPServer {
        try sharedTLSResult.get()
    }

    private static let sharedResult: Result<TestHTTPServer, any Error> = Result { try TestHTTPServer.start(tls: false) }
    private static let sharedTLSResult: Result<TestHTTPServer, any Error> = Result { try TestHTTPServer.start(tls: true) }

    private static func start(tls: Bool) throws -> TestHTTPServer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("marketlens-test-http-\(ProcessInfo.processInfo.processIdentifier)-\(tls ? "tls" : "plain")")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("server.py")
        try Data(TestHTTPServer.script.utf8).write(to: script)
        var arguments = ["python3", "-u", script.path, "0"]
        var certificatePath: String?
        if tls {
            let certificate = directory.appendingPathComponent("cert.pem").path
            let key = directory.appendingPathComponent("key.pem").path
            try makeCertificate(certificate: certificate, key: key)
            arguments += [certificate, key]
            certificatePath = certificate
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()

        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let more = stdout.fileHandleForReading.availableData
            guard !more.isEmpty else { throw TestHTTPServerError.didNotStart }
            line.append(more)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "),
              let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw TestHTTPServerError.didNotStart }
        return TestHTTPServer(
            port: port, certificatePath: certificatePath,
            process: ProcessBox(process: process, stdin: stdin, stdout: stdout))
    }

    private static func makeCertificate(certificate: String, key: String) throws {
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw TestHTTPServerError.didNotStart }
    }
}

/// Why the test server could not start.
public enum TestHTTPServerError: Error {
    /// python3 did not print its port, or openssl could not make the certificate.
    case didNotStart
}

/// Keeps the child and its stdin pipe alive for the whole test process: closing the pipe stops the server.
private final class ProcessBox: @unchecked Sendable {
    // Only written at creation and never used after: the box exists to hold the references.
    let process: Process
    let stdin: Pipe
    let stdout: Pipe

    init(process: Process, stdin: Pipe, stdout: Pipe) {
        self.process = process
        self.stdin = stdin
        self.stdout = stdout
    }
}

extension TestHTTPServer {
    fileprivate static let script = #"""
import json, os, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def query(self):
        q = parse_qs(urlparse(self.path).query)
        return {k: v[0] for k, v in q.items()}

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(n) if n else b""

    def send_plain(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def start_chunked(self, ctype="text/event-stream"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def handle_any(self):
        path = urlparse(self.path).path
        q = self.query()
        body = self.read_body()
        if path == "/echo":
            out = {"method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": body.decode("latin-1"), "clientPort": self.client_address[1]}
            self.send_plain(200, json.dumps(out).encode(), "application/json", [("X-Echo", "yes")])
        elif path.startswith("/status/"):
            code = int(path.split("/")[2])
            self.send_plain(code, ("status %d" % code).encode(), extra=[("Retry-After", "7")])
        elif path == "/slow":
            time.sleep(float(q.get("delay", "3")))
            self.send_plain(200, b"late")
        elif path == "/redirect":
            self.send_plain(302, b"moved", extra=[("Location", "/echo?from=redirect")])
        elif path == "/stream":
            n, interval = int(q.get("n", "5")), float(q.get("interval", "0.2"))
            self.start_chunked()
            for i in range(n):
                self.chunk(b"data: %d %f\n\n" % (i, time.time()))
                time.sleep(interval)
            self.chunk(b"")
        elif path == "/stall":
            self.start_chunked()
            self.chunk(b": first\n\n")
            time.sleep(float(q.get("for", "30")))
            self.close_connection = True
        elif path == "/endless":
            self.start_chunked()
            try:
                while True:
                    self.chunk(b"data: tick\n\n")
                    time.sleep(0.05)
            except OSError:
                self.close_connection = True
        elif path == "/close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self.send_plain(404, b"no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

def watch_parent():
    sys.stdin.read()
    # The test process is gone: remove this script's scratch directory (script, certificate) and exit.
    import shutil
    shutil.rmtree(os.path.dirname(os.path.abspath(__file__)), ignore_errors=True)
    os._exit(0)

class Server(ThreadingHTTPServer):
    # The default backlog of 5 drops SYNs when parallel tests connect at once (a 1 s retransmit).
    request_queue_size = 128
    daemon_threads = True

server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
if len(sys.argv) > 3:
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Thread(target=watch_parent, daemon=True).start()
print("PORT %d" % server.server_address[1], flush=True)
server.serve_forever()
"""#
}
