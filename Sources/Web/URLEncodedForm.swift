/// A parsed `application/x-www-form-urlencoded` body or query string: ordered fields, repeated names kept.
/// Parsing is strict (see `PercentDecoding`) and bounded by `Limits`, so hostile input costs little.
public struct URLEncodedForm: Sendable, Equatable {
    /// One `name=value` pair, both decoded.
    public struct Field: Sendable, Equatable {
        /// The decoded field name.
        public var name: String
        /// The decoded value (empty for `name` or `name=`).
        public var value: String

        /// Creates a field.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Bounds on what a parser accepts; exceeding one is a 413 `HTTPError`.
    public struct Limits: Sendable {
        /// Maximum encoded size of the whole input in bytes.
        public var maxBytes: Int
        /// Maximum number of fields.
        public var maxFields: Int
        /// Maximum encoded size of one field (`name=value`) in bytes.
        public var maxFieldBytes: Int

        /// Creates limits; the defaults suit the forms and query strings of this application.
        public init(maxBytes: Int = 1 << 20, maxFields: Int = 256, maxFieldBytes: Int = 64 << 10) {
            self.maxBytes = maxBytes
            self.maxFields = maxFields
            self.maxFieldBytes = maxFieldBytes
        }
    }

    /// The fields in input order.
    public var fields: [Field]

    /// Creates a form from already decoded fields.
    public init(fields: [Field] = []) { self.fields = fields }

    /// Parses an encoded string (`a=1&b=x+y&a=2`). Empty segments (`a=1&&b=2`) are skipped.
    public init(parsing input: String, limits: Limits = Limits()) throws(HTTPError) {
        guard input.utf8.count <= limits.maxBytes else { throw HTTPError.payloadTooLarge() }
        var fields: [Field] = []
        // Split on bytes, not Characters: a combining mark after `&` or `=` must not glue them to the next text.
        for pairBytes in input.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard fields.count < limits.maxFields else {
                throw HTTPError.payloadTooLarge("The request has too many fields.")
            }
            guard pairBytes.count <= limits.maxFieldBytes else {
                throw HTTPError.payloadTooLarge("A field in the request is too large.")
            }
            let pair = Substring(pairBytes)
            let name: Substring
            let value: Substring
            if let equals = pairBytes.firstIndex(of: UInt8(ascii: "=")) {
                name = pair[..<equals]
                value = pair[pair.utf8.index(after: equals)...]
            } else {
                name = pair
                value = ""
            }
            fields.append(
                Field(
                    name: try PercentDecoding.decode(name, plusAsSpace: true),
                    value: try PercentDecoding.decode(value, plusAsSpace: true)))
        }
        self.fields = fields
    }

    /// Parses a raw body; bytes that are not UTF-8 are a 400 `HTTPError`.
    public init(parsing body: [UInt8], limits: Limits = Limits()) throws(HTTPError) {
        guard body.count <= limits.maxBytes else { throw HTTPError.payloadTooLarge() }
        guard let text = String(validating: body, as: UTF8.self) else {
            throw HTTPError.badRequest("The request contains badly encoded characters.", code: "bad_encoding")
        }
        try self.init(parsing: text, limits: limits)
    }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    /// Every value of `name`, in order (checkbox groups, repeated parameters).
    public func values(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

    /// Whether a field called `name` is present (even with an empty value).
    public func contains(_ name: String) -> Bool { fields.contains { $0.name == name } }

    /// The fields encoded back into `a=1&b=x%20y` form (spaces as `%20`).
    public var encoded: String {
        fields.map { PercentDecoding.encode($0.name) + "=" + PercentDecoding.encode($0.value) }
            .joined(separator: "&")
    }
}
