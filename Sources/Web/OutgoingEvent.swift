/// One Server-Sent Event as written to a client (`text/event-stream` framing). Field values are sanitised: an
/// `id` or `event` can never contain CR or LF (which would forge extra fields), and multi-line `data` is split
/// into several `data:` lines, which the client joins back with `\n`.
public struct OutgoingEvent: Sendable, Equatable {
    /// `id:` (the resume point a client sends back as `Last-Event-ID`).
    public var id: String?
    /// `event:` name; nil means the default `message`.
    public var event: String?
    /// The payload; may contain newlines.
    public var data: String
    /// `retry:` in milliseconds, sent with this event.
    public var retry: Int?

    /// Creates an event.
    public init(id: String? = nil, event: String? = nil, data: String, retry: Int? = nil) {
        self.id = id
        self.event = event
        self.data = data
        self.retry = retry
    }

    /// An event whose data is `value` encoded as one line of JSON (JSON escapes newlines inside strings).
    public static func json(id: String? = nil, event: String? = nil, _ value: some Encodable) throws -> OutgoingEvent {
        let bytes = try JSONBody.encode(value)
        return OutgoingEvent(id: id, event: event, data: String(decoding: bytes, as: UTF8.self))
    }

    /// The event's wire form, ending with the blank line that dispatches it.
    public var encoded: String {
        var out = ""
        if let retry { out += "retry: \(max(0, retry))\n" }
        if let id { out += "id: \(Self.singleLine(id, droppingNUL: true))\n" }
        if let event { out += "event: \(Self.singleLine(event, droppingNUL: false))\n" }
        for line in Self.lines(of: data) { out += "data: \(line)\n" }
        return out + "\n"
    }

    /// A comment (`: text`), which clients ignore; keeps proxies from closing an idle stream.
    public static func comment(_ text: String) -> String {
        lines(of: text).map { ": \($0)\n" }.joined() + "\n"
    }

    /// The `: heartbeat` comment.
    public static var heartbeat: String { comment("heartbeat") }

    /// A lone `retry: N` telling the client how long to wait before reconnecting.
    public static func retry(milliseconds: Int) -> String { "retry: \(max(0, milliseconds))\n\n" }

    /// Splits on CRLF, CR or LF, the three line ends the SSE parser recognises.
    static func lines(of text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var afterCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && afterCR {
                afterCR = false
                continue
            }
            afterCR = scalar == "\r"
            if scalar == "\n" || scalar == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    private static func singleLine(_ text: String, droppingNUL: Bool) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter {
            $0 != "\r" && $0 != "\n" && !(droppingNUL && $0 == "\0")
        }))
    }
}
