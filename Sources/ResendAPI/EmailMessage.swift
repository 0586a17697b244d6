/// One e-mail for `POST /emails` (upstream-api.md §7). `description` hides the addresses.
public struct EmailMessage: Sendable, Hashable, Encodable, CustomStringConvertible {
    /// `"Name <address>"` or a bare address.
    public var from: String
    /// Recipients (≤ 50).
    public var to: [String]
    /// Subject line.
    public var subject: String
    /// HTML body.
    public var html: String?
    /// Plain-text body (Resend derives one from `html` when absent).
    public var text: String?
    /// Reply-to addresses (snake_case on the wire).
    public var replyTo: [String]?
    /// Extra MIME headers.
    public var headers: [String: String]?
    /// Tags (ASCII letters, digits, `_` and `-`).
    public var tags: [EmailTag]?

    /// Creates a message.
    public init(from: String, to: [String], subject: String, html: String? = nil, text: String? = nil,
                replyTo: [String]? = nil, headers: [String: String]? = nil, tags: [EmailTag]? = nil) {
        self.from = from
        self.to = to
        self.subject = subject
        self.html = html
        self.text = text
        self.replyTo = replyTo
        self.headers = headers
        self.tags = tags
    }

    enum CodingKeys: String, CodingKey {
        case from, to, subject, html, text, replyTo = "reply_to", headers, tags
    }

    public var description: String {
        "EmailMessage(to: \(to.count) recipient(s), subject: \(subject.count) chars)"
    }
}

/// `{name, value?}` tag attached to an e-mail.
public struct EmailTag: Sendable, Hashable, Codable {
    /// Tag name.
    public var name: String
    /// Tag value.
    public var value: String?

    /// Creates a tag.
    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}
