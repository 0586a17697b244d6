/// Where a streaming response writes: the transport's output. `flush` pushes bytes to the client now and throws
/// `ClientGone` when the client has gone away (the only reliable signal: writes alone succeed into a buffer).
public protocol BodyWriter: AnyObject {
    /// Appends bytes to the output buffer.
    func write(_ bytes: [UInt8]) throws
    /// Sends what is buffered; throws `ClientGone` when the client is no longer there.
    func flush() throws
    /// Hands the rest of the response to another thread: the producer may return and its request thread serves
    /// the next request, while the returned body stays open until closed. Nil when this transport cannot.
    func detach() -> (any DetachedBody)?
}

extension BodyWriter {
    /// Appends a UTF-8 string.
    public func write(_ string: String) throws { try write(Array(string.utf8)) }
    /// By default a response cannot leave its request thread.
    public func detach() -> (any DetachedBody)? { nil }
}

/// The open end of a streaming response after `BodyWriter.detach()`: written by whichever thread owns it now
/// (one writer thread can keep thousands open), then closed.
public protocol DetachedBody: AnyObject, Sendable {
    /// Appends bytes to the output buffer; throws `ClientGone` when the client is gone.
    func write(_ bytes: [UInt8]) throws
    /// Sends what is buffered; throws `ClientGone` when the client is no longer there.
    func flush() throws
    /// True when a write of up to `writeChunkBytes` will not wait for a slow client (or when the client is gone,
    /// which the write then reports); false while the client reads slower than the server writes.
    var isWritable: Bool { get }
    /// The most a writer should send per `isWritable` check.
    var writeChunkBytes: Int { get }
    /// Ends the response. Idempotent.
    func close()
    /// True once the web server closed its end (the visitor left): a stream that only relays, such as the
    /// console's, stops its upstream read at once instead of at its next write.
    var isPeerClosed: Bool { get }
    /// For a response detached before its head was written (`ResponseBody.later`): writes the whole response
    /// (status, headers on top of those the request thread added, body) and ends it. Throws `ClientGone`.
    func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) throws
}

extension DetachedBody {
    /// By default a departure is noticed at the next write.
    public var isPeerClosed: Bool { false }
    /// By default a body cannot take a whole response (only transports whose head is not written yet can).
    public func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) throws { throw ClientGone() }
}

/// Thrown by a `BodyWriter` when the client disconnected.
public struct ClientGone: Error, Sendable {
    public init() {}
}

/// The body of a response: bytes known up front, a producer that streams (SSE) on the request's own thread, or
/// an answer given later by another thread: `later` receives the response detached before anything was written
/// and answers it whole with `DetachedBody.respond` (a request that waits for something costs no thread).
public enum ResponseBody {
    case bytes([UInt8])
    case stream((any BodyWriter) throws -> Void)
    case later((any DetachedBody) -> Void)
}

/// One HTTP response. Not `Sendable`: it is produced and written on the same request thread.
public struct Response {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ResponseBody
    /// What the transport's log line of this request adds (the matched route, the API key's name): never sent.
    public var logFields: [String: String] = [:]

    public init(status: Int = 200, headers: HTTPHeaders = [:], body: ResponseBody = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a UTF-8 text body and the given content type.
    public init(status: Int = 200, contentType: String, text: String, headers: HTTPHeaders = [:]) {
        var all = headers
        all["Content-Type"] = contentType
        self.init(status: status, headers: all, body: .bytes(Array(text.utf8)))
    }
}
