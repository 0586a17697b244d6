import FastCGI
import Foundation
import Testing
import TestSupport

@Suite("Listener")
struct ListenerTests {
    @Test("creates a socket only its owner and group may connect to, and removes it on close")
    func socketFileLifecycle() throws {
        let path = FastCGIClient.temporarySocketPath()
        let listener = try Listener(path: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(attributes[.type] as? FileAttributeType == .typeSocket)
        #expect((attributes[.posixPermissions] as? Int) == 0o660, "owner and group only")
        listener.close()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("replaces a stale socket file nobody listens on")
    func replacesStaleSocket() throws {
        let stale = try StaleSocket(path: FastCGIClient.temporarySocketPath())
        #expect(throws: FastCGIClient.Failure.self, "nothing listens on a stale socket") {
            try FastCGIClient.Connection(socketPath: stale.path)
        }
        let listener = try Listener(path: stale.path)
        defer { listener.close() }
        let connection = try FastCGIClient.Connection(socketPath: stale.path)
        connection.close()
    }

    @Test("close leaves a successor's socket file alone")
    func closeKeepsSuccessorSocket() throws {
        let path = FastCGIClient.temporarySocketPath()
        let old = try Listener(path: path)
        unlink(path)
        let successor = try Listener(path: path)
        defer { successor.close() }
        old.close()
        let connection = try FastCGIClient.Connection(socketPath: path)
        connection.close()
    }

    @Test("refuses a path a live process listens on, and a path that is not a socket")
    func refusesLiveOrForeignPath() throws {
        let path = FastCGIClient.temporarySocketPath()
        let live = try Listener(path: path)
        defer { live.close() }
        #expect(throws: FastCGIError.self) { try Listener(path: path) }
        #expect(FileManager.default.fileExists(atPath: path), "the live socket must survive")

        let plain = FastCGIClient.temporarySocketPath() + ".txt"
        #expect(FileManager.default.createFile(atPath: plain, contents: Data("keep".utf8)))
        defer { try? FileManager.default.removeItem(atPath: plain) }
        #expect(throws: FastCGIError.self) { try Listener(path: plain) }
        #expect(FileManager.default.contents(atPath: plain) == Data("keep".utf8))
    }

    @Test("reports a bind failure as an error instead of exiting the process")
    func bindFailureThrows() {
        let error = #expect(throws: FastCGIError.self) { try Listener(path: "/tmp/fastcgi/missing-dir/x.sock") }
        #expect(error?.call == "bind")
        #expect(error?.code == ENOENT)
    }

    @Test("shutdown wakes every thread blocked in accept")
    func shutdownWakesAccept() throws {
        let path = FastCGIClient.temporarySocketPath()
        let listener = try Listener(path: path)
        let returned = DispatchSemaphore(value: 0)
        let results = Box<[Bool]>([])
        for _ in 0..<3 {
            Thread {
                do {
                    let slot = try RequestSlot(listener: listener)
                    let accepted = try slot.accept()
                    results.mutate { $0.append(accepted) }
                } catch {
                    results.mutate { $0.append(true) }
                }
                returned.signal()
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.2)
        listener.shutdown()
        for _ in 0..<3 { #expect(returned.wait(timeout: .now() + 5) == .success) }
        #expect(results.value == [false, false, false])
        listener.close()
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

/// A socket file left behind by a process that died: bound, then closed without unlinking.
struct StaleSocket {
    let path: String

    init(path: String) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(fd)
        try #require(result == 0)
    }
}

/// A value shared between a test and the threads it starts.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
