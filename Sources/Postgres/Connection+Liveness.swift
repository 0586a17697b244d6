internal import CPostgres
import Foundation

extension Connection {
    /// Whether an idle connection is still usable, found out without a round trip: reads, without blocking,
    /// whatever the server sent while the connection sat idle. A server that restarted (or terminated this
    /// backend) sent its `FATAL` and closed the socket; libpq notices only on the next read, so without this check
    /// the next statement would fail with a lost connection although it never reached a server. Notifications
    /// that arrived stay queued for `pendingNotifications()`. A connection inside a transaction is left alone.
    public var isAliveWhenIdle: Bool {
        guard isConnected else { return false }
        guard PQtransactionStatus(handle) == PQTRANS_IDLE else { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return false }
        // The FATAL message and the close may come in separate reads: read until nothing more is waiting (the
        // close, once read, leaves the connection bad). A few rounds bound it should a chatty server keep sending.
        for _ in 0..<4 {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { return true }
            guard PQconsumeInput(handle) == 1, isConnected else { return false }
        }
        return isConnected
    }
}
