import Foundation

/// Runs `body` on a new dedicated thread and returns its result: blocking C calls (libcurl) must not occupy
/// the Swift concurrency pool, in tests as in the app.
public func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
