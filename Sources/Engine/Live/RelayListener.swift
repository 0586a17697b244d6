import Foundation
import Logging
import Postgres

/// The hub's listener thread: one connection per process `LISTEN`ing on every log's channel (payload
/// `<owner id>:<seq>`). Each burst of notifications becomes one read of the logs that have viewers, and
/// each event is encoded once for all of them. After losing the connection it reconnects with back-off and asks
/// every relay to re-read the log, so a database restart loses nothing.
struct RelayListener: BackgroundService {
    let hub: RelayHub
    var name: String { "live-relay-hub" }

    func run(until stop: any StopSignal) {
        var delay = 0.25
        while !stop.isRequested {
            do {
                let connection = try hub.makeConnection()
                for channel in hub.logs.channels { try connection.listen(channel) }
                delay = 0.25
                hub.resyncAll()
                try follow(connection, until: stop)
            } catch {
                hub.log.warning("live relay hub lost its database connection; reconnecting",
                                metadata: ["error": "\(error)"])
                if stop.wait(timeout: .milliseconds(Int(delay * 1000))) { break }
                delay = min(delay * 2, 5)
            }
        }
        hub.closeAll()
    }

    private func follow(_ connection: Connection, until stop: any StopSignal) throws {
        while !stop.isRequested {
            let notifications = try connection.waitForNotifications(timeout: 0.5)
            guard !notifications.isEmpty else { continue }
            var notified: [StreamKey: Int] = [:]
            for notification in notifications {
                let parts = notification.payload.split(separator: ":")
                guard parts.count == 2, let id = Int64(parts[0]), let seq = Int(parts[1]) else { continue }
                let key = StreamKey(channel: notification.channel, id: id)
                notified[key] = min(notified[key] ?? seq, seq)
            }
            let positions = hub.fetchPositions(notified: notified)
            guard !positions.isEmpty else { continue }
            hub.deliver(try hub.logs.fetch(after: positions, on: connection))
        }
    }
}
