import FastCGIServer
import Foundation
import Logging
import Testing
import TestSupport
import Web

/// A handler built from a closure; `id` tells which request thread's handler answered.
final class ClosureHandler: RequestHandler {
    let id: Int
    let body: @Sendable (Request, Int) -> Response
    init(id: Int, body: @escaping @Sendable (Request, Int) -> Response) {
        self.id = id
        self.body = body
    }
    func handle(_ request: Request) -> Response { body(request, id) }
}

struct ClosureFactory: RequestHandlerFactory {
    let counter = Counter()
    let body: @Sendable (Request, Int) -> Response
    func makeHandler() throws -> any RequestHandler { ClosureHandler(id: counter.next(), body: body) }
}

/// A thread-safe counter and value box for tests.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
    var current: Int { lock.withLock { value } }
}

final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

/// A worker running in-process on its own thread, over a temporary socket.
final class TestWorker: @unchecked Sendable {
    let worker: Worker
    let path: String
    private let returned = DispatchSemaphore(value: 0)
    private(set) var runError: (any Error)?

    init(threads: Int = 2, maxBodyBytes: Int = 64 * 1024, grace: Duration = .seconds(5),
         backgroundTasks: [@Sendable (ShutdownSignal) -> Void] = [],
         handler: @escaping @Sendable (Request, Int) -> Response) throws {
        path = FastCGIClient.temporarySocketPath()
        let configuration = WorkerConfiguration(
            socketPath: path, threads: threads, maxBodyBytes: maxBodyBytes, shutdownGracePeriod: grace,
            handlesSignals: false, backgroundTasks: backgroundTasks)
        var logger = Logger(label: "test.worker")
        logger.logLevel = .critical
        worker = Worker(configuration: configuration, factory: ClosureFactory(body: handler), logger: logger)
        let worker = self.worker
        Thread { [self] in
            do { try worker.run() } catch { runError = error }
            returned.signal()
        }.start()
        try #require(worker.waitUntilListening(timeout: .seconds(10)))
    }

    /// Stops the worker; true when `run()` returned within `timeout` seconds.
    @discardableResult
    func stop(timeout: Double = 10) -> Bool {
        worker.stop()
        return returned.wait(timeout: .now() + timeout) == .success
    }

    func send(_ method: String = "GET", _ uri: String = "/", headers: [(String, String)] = [], body: [UInt8] = [],
              requestID: String? = nil) throws -> FastCGIClient.Response {
        try FastCGIClient.send(
            socketPath: path,
            params: FastCGIClient.params(method: method, uri: uri, headers: headers, body: body, requestID: requestID),
            body: body)
    }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
