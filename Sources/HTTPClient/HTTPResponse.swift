/// Status and headers of the final response (never of a `100 Continue` or of a followed redirect).
public struct HTTPResponseHead: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// Header fields in the order received, names as sent by the server.
    public var headers: [(name: String, value: String)]

    /// Creates a head.
    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// A complete response: head and body. A 4xx or 5xx status is a response, not an error.
public struct HTTPResponse: Sendable {
    /// Status and headers.
    public var head: HTTPResponseHead
    /// The body bytes, decoded from any transfer encoding.
    public var body: [UInt8]

    /// Creates a response.
    public init(head: HTTPResponseHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }

    /// The HTTP status code.
    public var status: Int { head.status }

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? { head.header(name) }

    /// The body decoded as UTF-8, invalid sequences replaced by U+FFFD.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
