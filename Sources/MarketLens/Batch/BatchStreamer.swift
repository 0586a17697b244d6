import Foundation
import Logging
import Postgres
import Web

/// Writes one batch's event stream (seed 001) on the request thread: `connected`, then every stored event after
/// the resume point, then new ones as the monitor appends them (LISTEN `batch_events`, with a 1 s re-read in
/// case a notification is missed), `heartbeat` when idle, until `completed` or `stream_error`. It never
/// touches Parallel: the batch's owner is the monitor holding its lease, so the stream can die at any time.
struct BatchStreamer {
    var batch: BatchRecord
    var databaseURL: String
    var settings: BatchSettings
    /// The last event id the client has; nil for a fresh stream (which starts at `id: 0`).
    var resumeAfter: Int?
    var logger: Logger

    /// The seed's response headers, on top of `Response.eventStream`'s.
    static func response(_ produce: @escaping (any BodyWriter) throws -> Void, batchID: String) -> Response {
        var response = Response.eventStream(produce)
        response.headers["Content-Type"] = "text/event-stream"
        response.headers["Connection"] = "keep-alive"
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["X-Batch-ID"] = batchID
        return response
    }

    func run(_ writer: any BodyWriter) throws {
        var last = resumeAfter ?? 0
        let connected = BatchPayload.Connection(message: "Research pipeline connected", batchID: batch.publicID)
        try writer.write("id: \(last)\nretry: 1000\n" + Self.frame(event: "connected", json: connected))
        try writer.flush()
        let connection: Connection
        do {
            connection = try Connection(url: databaseURL)
            try connection.listen("batch_events")
        } catch {
            logger.error("batch stream: database unavailable", metadata: ["error": "\(error)"])
            try writeError(writer, id: last, "The event store is unavailable; reconnect to resume.")
            return
        }
        let clock = ContinuousClock()
        var nextHeartbeat = clock.now.advanced(by: settings.heartbeatInterval)
        let deadline = clock.now.advanced(by: settings.maxStreamDuration)
        let tag = "\(batch.id):"
        while true {
            let events: [StoredBatchEvent]
            do {
                events = try BatchStore.events(of: batch.id, after: last, on: connection)
            } catch {
                logger.error("batch stream: reading events failed", metadata: ["error": "\(error)"])
                try writeError(writer, id: last, "Reading the batch events failed; reconnect to resume.")
                return
            }
            for event in events {
                try writer.write(OutgoingEvent(id: String(event.seq), event: event.type, data: event.data).encoded)
                last = event.seq
            }
            if !events.isEmpty {
                try writer.flush()
                if let final = events.last, BatchEventType(rawValue: final.type)?.isTerminal == true { return }
                if events.count == 1_000 { continue }
            }
            let now = clock.now
            if now >= deadline {
                let bye = BatchPayload.Connection(message: "Stream closed by the server; reconnect to resume")
                try writer.write("id: \(last)\n" + Self.frame(event: "disconnected", json: bye))
                try writer.flush()
                return
            }
            if now >= nextHeartbeat {
                let beat = BatchPayload.Connection(message: "Connection alive")
                try writer.write("id: \(last)\n" + Self.frame(event: "heartbeat", json: beat, type: .heartbeat))
                try writer.flush()
                nextHeartbeat = now.advanced(by: settings.heartbeatInterval)
            }
            let wait = min(Self.seconds(nextHeartbeat - now), 1.0)
            do {
                // Wake early only for this batch; other batches' notifications are drained and ignored.
                let deadlineWait = clock.now.advanced(by: .milliseconds(Int(max(wait, 0.01) * 1000)))
                var mine = false
                while !mine, clock.now < deadlineWait {
                    let notes = try connection.waitForNotifications(timeout: Self.seconds(deadlineWait - clock.now))
                    mine = notes.contains { $0.payload.hasPrefix(tag) }
                }
            } catch {
                logger.warning("batch stream: LISTEN connection failed", metadata: ["error": "\(error)"])
                try writeError(writer, id: last, "The event store connection was lost; reconnect to resume.")
                return
            }
        }
    }

    private func writeError(_ writer: any BodyWriter, id: Int, _ message: String) throws {
        let payload = BatchPayload.ErrorEvent(message: message, recoverable: true)
        try writer.write("id: \(id)\n" + Self.frame(event: "error", json: payload, type: .error))
        let bye = BatchPayload.Connection(message: "Stream closed by the server; reconnect to resume")
        try writer.write("id: \(id)\n" + Self.frame(event: "disconnected", json: bye))
        try writer.flush()
    }

    /// `event:` and `data:` lines of a payload encoded with the seed's key order.
    static func frame(event: String, json payload: some Encodable, type: BatchEventType? = nil) -> String {
        let data = orderedJSON(payload, type: type ?? BatchEventType(rawValue: event))
        return "event: \(event)\ndata: \(data)\n\n"
    }

    static func orderedJSON(_ payload: some Encodable, type: BatchEventType?) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(payload),
              let object = try? JSONDecoder().decode([String: RawJSON].self, from: data)
        else { return "{}" }
        return BatchStore.orderedJSON(object.mapValues(\.text), type: type?.rawValue ?? "")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A JSON value kept as its encoded text (for re-ordering an object's keys without touching its values).
struct RawJSON: Decodable {
    var text: String
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Double.self) {
            text = value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
        } else if let value = try? container.decode(Bool.self) {
            text = value ? "true" : "false"
        } else if let value = try? container.decode(String.self) {
            text = BatchStore.jsonString(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "only scalars are re-ordered")
        }
    }
}
