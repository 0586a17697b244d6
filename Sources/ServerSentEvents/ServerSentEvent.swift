/// One event dispatched by an `text/event-stream`.
public struct ServerSentEvent: Sendable, Equatable {
    /// The `event:` field, or `"message"` when the event had none.
    public var type: String
    /// The `data:` lines joined with `"\n"`.
    public var data: String
    /// The last event ID at dispatch (it carries over from earlier events); `nil` when it is empty.
    public var id: String?
    /// A valid `retry:` value given within this event's lines, if any.
    public var retry: Int?

    /// Creates an event.
    public init(type: String = "message", data: String, id: String? = nil, retry: Int? = nil) {
        self.type = type
        self.data = data
        self.id = id
        self.retry = retry
    }
}
