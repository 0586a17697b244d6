import Foundation
import Testing
@testable import UpstreamSim
#if canImport(Glibc)
import Glibc
#endif

/// Sends one raw HTTP request and reads until the server closes or the chunked body ends.
private func rawRequest(port: Int, _ text: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    try #require(rc == 0)
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 65536, 0) }
        if n <= 0 { break }
        out += buf[0..<n]
        let s = String(decoding: out, as: UTF8.self)
        if s.hasSuffix("0\r\n\r\n") { break }
        if let r = s.range(of: "\r\n\r\n"), s.contains("Content-Length: "),
           let len = s.components(separatedBy: "Content-Length: ").last?.split(separator: "\r\n").first.flatMap({ Int($0) }),
           out.count >= s[..<r.upperBound].utf8.count + len { break }
    }
    return String(decoding: out, as: UTF8.self)
}

@Suite("HTTP server and run lifecycle over real sockets")
struct ServerTests {
    @Test("create → events stream ends with the completed state and its output; unknown key → 401")
    func lifecycle() throws {
        var config = SimConfig()
        config.timeScale = 0.002
        let sim = Simulator(config: config)
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { req, conn in sim.handleParallel(req, conn) }
        server.start()
        sim.startEngine()
        let body = #"{"input":"Industry: drones","processor":"pro","task_spec":{"output_schema":"report"},"unknown_field":1}"#
        let created = try rawRequest(port: server.port, "POST /v1/tasks/runs HTTP/1.1\r\nHost: x\r\nx-api-key: sim-parallel-key\r\nX-Stainless-Lang: python\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        #expect(created.hasPrefix("HTTP/1.1 202 "))
        let id = try #require(created.range(of: #"trun_[0-9a-f]{32}"#, options: .regularExpression).map { String(created[$0]) })
        let events = try rawRequest(port: server.port, "GET /v1/tasks/runs/\(id)/events HTTP/1.1\r\nHost: x\r\nx-api-key: sim-parallel-key\r\n\r\n")
        #expect(events.contains("Content-Type: text/event-stream"))
        #expect(events.contains("event: task_run.progress_msg.plan\ndata: {\"type\":\"task_run.progress_msg.plan\""))
        let lastState = try #require(events.components(separatedBy: "event: task_run.state\n").last)
        #expect(lastState.contains(#""status":"completed""#) && lastState.contains(#""output":{"type":"text""#))
        let denied = try rawRequest(port: server.port, "GET /v1/tasks/runs/\(id) HTTP/1.1\r\nHost: x\r\nx-api-key: nope\r\nConnection: close\r\n\r\n")
        #expect(denied.hasPrefix("HTTP/1.1 401 ") && denied.contains(#""ref_id""#))
        let chunked = try rawRequest(port: server.port, "POST /v1/tasks/runs HTTP/1.1\r\nHost: x\r\nx-api-key: sim-parallel-key\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\(String(body.utf8.count, radix: 16))\r\n\(body)\r\n0\r\n\r\n")
        #expect(chunked.hasPrefix("HTTP/1.1 202 "))
    }
}
