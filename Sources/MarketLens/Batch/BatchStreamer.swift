import Engine
import Foundation
import Logging
import Postgres
import Web

/// The seed-001 framing of one batch's event stream: `id: <last>` + `retry: 1000` + `connected`, then every
/// stored event after the resume point and new ones as the monitor appends them (the process's live writer
/// sends those, from the relay hub), a `heartbeat` event carrying the last id when idle, `disconnected` after
/// the stream's time limit, `error` + `disconnected` when the log cannot be read, until `completed` or
/// `stream_error`. It never touches Parallel: the batch's owner is the monitor holding its lease.
enum BatchStreamer {
    /// The stream of `batch` for one viewer, resuming after `resumeAfter` (nil: from the start, `id: 0`).
    static func stream(_ batch: BatchRecord, resumeAfter: Int?, hub: RelayHub, client: String,
                       settings: BatchSettings) -> LiveStream {
        let last = resumeAfter ?? 0
        let connected = BatchPayload.Connection(message: "Research pipeline connected", batchID: batch.publicID)
        var stream = LiveStream(
            hub: hub, key: StreamKey(.batch, batch.id), client: client, after: last,
            opening: "id: \(last)\nretry: 1000\n" + frame(event: "connected", json: connected),
            style: style(settings))
        stream.headers = ["Content-Type": "text/event-stream", "Connection": "keep-alive",
                          "Access-Control-Allow-Origin": "*", "X-Batch-ID": batch.publicID]
        return stream
    }

    /// Heartbeats, the time limit and the failure ending, each carrying the last id sent. The heartbeat's
    /// payload holds its own timestamp, so it is encoded when due.
    static func style(_ settings: BatchSettings) -> StreamStyle {
        StreamStyle(
            heartbeatSeconds: seconds(settings.heartbeatInterval),
            heartbeat: { last in
                let beat = BatchPayload.Connection(message: "Connection alive")
                return Array(("id: \(last)\n" + frame(event: "heartbeat", json: beat, type: .heartbeat)).utf8)
            },
            maxSeconds: seconds(settings.maxStreamDuration),
            farewell: { last in
                let bye = BatchPayload.Connection(message: "Stream closed by the server; reconnect to resume")
                return Array(("id: \(last)\n" + frame(event: "disconnected", json: bye)).utf8)
            },
            failure: { last in
                let payload = BatchPayload.ErrorEvent(message: "Reading the batch events failed; reconnect to resume.",
                                                      recoverable: true)
                let bye = BatchPayload.Connection(message: "Stream closed by the server; reconnect to resume")
                return Array(("id: \(last)\n" + frame(event: "error", json: payload, type: .error)
                    + "id: \(last)\n" + frame(event: "disconnected", json: bye)).utf8)
            })
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
