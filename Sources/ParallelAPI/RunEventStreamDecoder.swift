import ServerSentEvents

/// Turns the bytes of a run or group event stream into events; invalid payloads are counted and skipped, never fatal.
public struct RunEventStreamDecoder: Sendable {
    private var parser = ServerSentEventParser()
    /// Payloads skipped because they were not valid JSON or had the wrong shape for their type.
    public private(set) var skipped = 0

    /// Creates a decoder for one connection.
    public init() {}

    /// Feeds the next chunk; returns the events it completed.
    public mutating func feed(_ bytes: [UInt8]) -> [RunEvent] {
        decode(parser.feed(bytes))
    }

    /// Call when the connection closed; returns a last event still pending, if any.
    public mutating func finish() -> [RunEvent] {
        decode(parser.finish())
    }

    private mutating func decode(_ events: [ServerSentEvent]) -> [RunEvent] {
        var decoded: [RunEvent] = []
        for event in events where !event.data.isEmpty {
            // The SDK ignores the `event:` name and dispatches on `data.type`; so do we.
            if let value = try? RunEvent.decode(event.data) {
                decoded.append(value)
            } else {
                skipped += 1
            }
        }
        return decoded
    }
}
