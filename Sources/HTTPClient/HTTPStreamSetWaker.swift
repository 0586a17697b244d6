internal import CCurl

/// Owns a `CURLM` handle. Shared between one ``HTTPStreamSet`` (which alone drives it) and its wakers, which
/// only ever call `curl_multi_wakeup`, documented as callable from any thread: hence `@unchecked Sendable`.
final class HTTPMultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer

    init() throws(HTTPClientError) {
        HTTPClient.globalInitialize()
        guard let handle = curl_multi_init() else {
            throw HTTPClientError(
                kind: .other, code: Int32(bitPattern: CURLE_FAILED_INIT.rawValue), call: "curl_multi_init",
                requestNotSent: true)
        }
        raw = handle
    }

    deinit {
        curl_multi_cleanup(raw)
    }
}

/// Interrupts a waiting ``HTTPStreamSet/poll(timeout:)`` from another thread, for example when there is a new
/// stream to add: the polling thread then returns early and can pick up its work.
public struct HTTPStreamSetWaker: Sendable {
    let multi: HTTPMultiHandle

    /// Makes the current or next `poll` return at once.
    public func wakeUp() {
        _ = curl_multi_wakeup(multi.raw)
    }
}
