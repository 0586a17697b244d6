extension Response {
    /// A `text/event-stream` response whose body `produce` writes on the request's own thread, with the
    /// headers live streams need: `Cache-Control: no-cache` and `X-Accel-Buffering: no` (so nginx passes each
    /// event on at once). `produce` should write `OutgoingEvent.encoded` strings and `flush()` after each; a
    /// `ClientGone` from `flush` means the viewer left and the producer should return.
    public static func eventStream(status: Int = 200, _ produce: @escaping (any BodyWriter) throws -> Void) -> Response {
        Response(
            status: status,
            headers: [
                "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            ],
            body: .stream(produce))
    }
}

extension Request {
    /// Where an event stream should resume: the `Last-Event-ID` header (sent by `EventSource` on reconnect),
    /// else the `last_event_id` query parameter (for a fresh page that knows its position). Nil when neither
    /// is present or the value is empty; throws 400 when the query string is badly encoded.
    public func lastEventID() throws(HTTPError) -> String? {
        if let header = headers["Last-Event-ID"]?.trimmingWhitespace(), !header.isEmpty { return header }
        guard let value = try queryValue("last_event_id"), !value.isEmpty else { return nil }
        return value
    }
}
