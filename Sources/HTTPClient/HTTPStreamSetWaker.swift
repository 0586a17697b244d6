internal import CCurl
import Glibc

/// Owns a `CURLM` handle and the event loop it is driven by: an epoll set holding the sockets libcurl asks to watch
/// (its socket callback) and an eventfd wakers write to, plus the deadline libcurl's timer callback sets. Driving
/// libcurl with `curl_multi_socket_action` costs per ready socket; `curl_multi_perform` + `curl_multi_poll` looked
/// at every transfer (one `poll` syscall each) on every pass, which with 1,000 followed runs was half a worker's CPU.
/// Shared between one ``HTTPStreamSet`` (which alone drives it: the callbacks run inside its libcurl calls, on its
/// thread) and its wakers, which only ever write to the eventfd: hence `@unchecked Sendable`.
final class HTTPMultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    /// The epoll set of libcurl's sockets and `wakeDescriptor`.
    let epoll: Int32
    /// Readable when a waker asked the poll to return.
    let wakeDescriptor: Int32
    /// When libcurl next wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)` (``HTTPTransferState/now()``);
    /// nil: no timer. Only the driving thread touches it.
    var timerDeadline: Double?

    init() throws(HTTPClientError) {
        HTTPClient.globalInitialize()
        guard let handle = curl_multi_init() else {
            throw HTTPClientError(
                kind: .other, code: Int32(bitPattern: CURLE_FAILED_INIT.rawValue), call: "curl_multi_init",
                requestNotSent: true)
        }
        let epoll = ml_epoll_create()
        let wake = ml_eventfd_create()
        guard epoll >= 0, wake >= 0, ml_epoll_watch(epoll, wake, 1, 0) == 0 else {
            let failure = errno  // read before the cleanup below can overwrite it
            curl_multi_cleanup(handle)
            if epoll >= 0 { close(epoll) }
            if wake >= 0 { close(wake) }
            throw HTTPClientError(
                kind: .other, code: Int32(bitPattern: CURLE_FAILED_INIT.rawValue), call: "epoll_create1",
                requestNotSent: true, detail: String(cString: strerror(failure)))
        }
        raw = handle
        self.epoll = epoll
        wakeDescriptor = wake
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = ml_curl_multi_setopt_socket_callback(handle) { _, socket, what, owner, _ in
            guard let owner else { return -1 }
            let multi = Unmanaged<HTTPMultiHandle>.fromOpaque(owner).takeUnretainedValue()
            let readable: Int32 = what == CURL_POLL_IN || what == CURL_POLL_INOUT ? 1 : 0
            let writable: Int32 = what == CURL_POLL_OUT || what == CURL_POLL_INOUT ? 1 : 0
            return ml_epoll_watch(multi.epoll, socket, readable, writable) == 0 ? 0 : -1
        }
        _ = ml_curl_multi_setopt_pointer(handle, CURLMOPT_SOCKETDATA, me)
        _ = ml_curl_multi_setopt_timer_callback(handle) { _, milliseconds, owner in
            guard let owner else { return -1 }
            let multi = Unmanaged<HTTPMultiHandle>.fromOpaque(owner).takeUnretainedValue()
            multi.timerDeadline = milliseconds < 0 ? nil : HTTPTransferState.now() + Double(milliseconds) / 1000
            return 0
        }
        _ = ml_curl_multi_setopt_pointer(handle, CURLMOPT_TIMERDATA, me)
    }

    deinit {
        // Cleanup may still call the socket callback (closing connections): the descriptors go after it.
        curl_multi_cleanup(raw)
        close(epoll)
        close(wakeDescriptor)
    }
}

/// Interrupts a waiting ``HTTPStreamSet/poll(timeout:)`` from another thread, for example when there is a new
/// stream to add: the polling thread then returns early and can pick up its work.
public struct HTTPStreamSetWaker: Sendable {
    let multi: HTTPMultiHandle

    /// Makes the current or next `poll` return at once.
    public func wakeUp() {
        ml_eventfd_signal(multi.wakeDescriptor)
    }
}
