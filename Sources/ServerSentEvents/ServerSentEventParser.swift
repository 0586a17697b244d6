/// An incremental `text/event-stream` parser following the WHATWG HTML "event stream interpretation" rules.
///
/// Feed it bytes as they arrive, in chunks of any size; a chunk may end inside a line, inside a CRLF pair or
/// inside a multi-byte UTF-8 character. Lines end at CRLF, LF or CR.
public struct ServerSentEventParser: Sendable {
    /// The last event ID string (`id:` field), kept across events and across `finish()`.
    public private(set) var lastEventID: String = ""
    /// The reconnection time in milliseconds from the latest valid `retry:` field.
    public private(set) var reconnectionTime: Int?
    /// How many comment lines (starting with `:`) were seen: heartbeats show a live connection.
    public private(set) var commentCount: Int = 0

    private var line: [UInt8] = []
    /// The previous byte was a CR, so an LF right after it belongs to the same line end.
    private var afterCR = false
    /// How many bytes of a leading BOM have been matched; `nil` once the stream start is behind us.
    private var bomMatched: Int? = 0
    private var idBuffer: String = ""
    private var eventType: String = ""
    private var dataBuffer: String = ""
    private var hasData = false
    private var eventRetry: Int?

    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    /// Creates a parser at the start of a stream.
    public init() {}

    /// Consumes the next bytes of the stream and returns the events they complete, in order.
    public mutating func feed<S: Sequence>(_ bytes: S) -> [ServerSentEvent] where S.Element == UInt8 {
        // Unspecialized across the module boundary, iterating a generic sequence byte by byte cost the monitoring
        // thread as much as decoding the events (a finished report arrives as one large event): scan contiguous
        // bytes instead.
        var events: [ServerSentEvent] = []
        if bytes.withContiguousStorageIfAvailable({ feed(buffer: $0, into: &events) }) == nil {
            Array(bytes).withUnsafeBufferPointer { feed(buffer: $0, into: &events) }
        }
        return events
    }

    private mutating func feed(buffer: UnsafeBufferPointer<UInt8>, into events: inout [ServerSentEvent]) {
        var start = 0
        while start < buffer.count, let matched = bomMatched {
            if buffer[start] == ServerSentEventParser.bom[matched] {
                bomMatched = matched + 1 == 3 ? nil : matched + 1
                start += 1
                continue
            }
            // Not a BOM after all: the matched bytes are ordinary content (no line end among them, and none came
            // before them), and this byte is read below like any other.
            bomMatched = nil
            line.append(contentsOf: ServerSentEventParser.bom[..<matched])
        }
        while start < buffer.count {
            if afterCR {
                afterCR = false
                if buffer[start] == ServerSentEventParser.lf {
                    start += 1
                    continue
                }
            }
            var end = start
            while end < buffer.count, buffer[end] != ServerSentEventParser.cr, buffer[end] != ServerSentEventParser.lf {
                end += 1
            }
            line.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<end]))
            guard end < buffer.count else { return }
            afterCR = buffer[end] == ServerSentEventParser.cr
            endLine(into: &events)
            start = end + 1
        }
    }

    /// Ends the stream. A final line without a line end and an event without its blank line are discarded, as
    /// the spec requires, so this returns no event; the parser is then ready for a new connection (keeping
    /// `lastEventID` and `reconnectionTime`, as an `EventSource` does when it reconnects).
    public mutating func finish() -> [ServerSentEvent] {
        line.removeAll(keepingCapacity: true)
        afterCR = false
        bomMatched = 0
        eventType = ""
        dataBuffer = ""
        hasData = false
        eventRetry = nil
        return []
    }

    private mutating func endLine(into events: inout [ServerSentEvent]) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            if let event = dispatch() { events.append(event) }
            return
        }
        if line[0] == UInt8(ascii: ":") {
            commentCount += 1
            return
        }
        // CR and LF never occur inside a UTF-8 sequence, so a whole line always decodes cleanly.
        let text = String(decoding: line, as: UTF8.self)
        if let colon = text.firstIndex(of: ":") {
            var value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            process(field: text[..<colon], value: value)
        } else {
            process(field: Substring(text), value: "")
        }
    }

    private mutating func process(field: Substring, value: Substring) {
        switch field {
        case "event":
            eventType = String(value)
        case "data":
            dataBuffer += value
            dataBuffer += "\n"
            hasData = true
        case "id":
            if !value.contains("\u{0}") { idBuffer = String(value) }
        case "retry":
            if !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
               let milliseconds = Int(value) {
                reconnectionTime = milliseconds
                eventRetry = milliseconds
            }
        default:
            break
        }
    }

    private mutating func dispatch() -> ServerSentEvent? {
        lastEventID = idBuffer
        defer {
            eventType = ""
            dataBuffer = ""
            hasData = false
            eventRetry = nil
        }
        guard hasData else { return nil }
        var data = dataBuffer
        data.removeLast()
        return ServerSentEvent(
            type: eventType.isEmpty ? "message" : eventType, data: data,
            id: lastEventID.isEmpty ? nil : lastEventID, retry: eventRetry)
    }
}
