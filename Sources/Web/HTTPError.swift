/// An error meant for the client: a status, a stable machine-readable code, a human message and optional
/// per-field messages. Anything thrown that is not an `HTTPError` becomes a generic 500 (see `ErrorResponder`).
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status code, e.g. 422.
    public var status: Int
    /// A stable code for programs, e.g. `validation_failed`.
    public var code: String
    /// A sentence for people. Never carries internals (SQL, stack traces, keys).
    public var message: String
    /// Per-field messages, e.g. `["industry": "is required"]`.
    public var fields: [String: String]
    /// Extra response headers this error needs (`Allow`, `Retry-After`).
    public var headers: [String: String]

    /// Creates an error with every part given.
    public init(
        status: Int, code: String, message: String, fields: [String: String] = [:], headers: [String: String] = [:]
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers
    }

    /// Safe to log: status and code only.
    public var description: String { "HTTPError(\(status) \(code))" }

    /// 400: the request cannot be understood (bad encoding, malformed JSON).
    public static func badRequest(_ message: String = "The request is malformed.", code: String = "bad_request")
        -> HTTPError
    {
        HTTPError(status: 400, code: code, message: message)
    }

    /// 403: e.g. a missing or wrong CSRF token.
    public static func forbidden(_ message: String = "This action is not allowed.", code: String = "forbidden")
        -> HTTPError
    {
        HTTPError(status: 403, code: code, message: message)
    }

    /// 404: nothing lives at this address.
    public static func notFound(_ message: String = "The page you asked for does not exist.") -> HTTPError {
        HTTPError(status: 404, code: "not_found", message: message)
    }

    /// 405 with the `Allow` header listing the methods the resource supports.
    public static func methodNotAllowed(allowed: [String]) -> HTTPError {
        HTTPError(
            status: 405, code: "method_not_allowed", message: "This method is not allowed here.",
            headers: ["Allow": allowed.joined(separator: ", ")])
    }

    /// 413: the body is larger than this endpoint accepts.
    public static func payloadTooLarge(_ message: String = "The request body is too large.") -> HTTPError {
        HTTPError(status: 413, code: "payload_too_large", message: message)
    }

    /// 415: the body is not in a format this endpoint accepts.
    public static func unsupportedMediaType(expected: String) -> HTTPError {
        HTTPError(
            status: 415, code: "unsupported_media_type", message: "The request body must be \(expected).")
    }

    /// 422: the input is well-formed but invalid; `fields` says what is wrong with each field.
    public static func unprocessable(
        fields: [String: String], message: String = "Some fields are invalid.", code: String = "validation_failed"
    ) -> HTTPError {
        HTTPError(status: 422, code: code, message: message, fields: fields)
    }

    /// 429 with `Retry-After` in whole seconds (at least 1).
    public static func tooManyRequests(
        retryAfter seconds: Int, message: String = "Too many requests. Please try again later."
    ) -> HTTPError {
        HTTPError(
            status: 429, code: "rate_limited", message: message, headers: ["Retry-After": String(max(1, seconds))])
    }

    /// 500 with a message that reveals nothing; used for every error that is not an `HTTPError`.
    public static func internalServerError() -> HTTPError {
        HTTPError(status: 500, code: "internal_error", message: "Something went wrong on our side. Please try again.")
    }

    /// 503: a dependency is down or slow; optionally with `Retry-After`.
    public static func serviceUnavailable(
        _ message: String = "The service is temporarily unavailable. Please try again.", retryAfter seconds: Int? = nil
    ) -> HTTPError {
        var headers: [String: String] = [:]
        if let seconds { headers["Retry-After"] = String(max(1, seconds)) }
        return HTTPError(status: 503, code: "unavailable", message: message, headers: headers)
    }
}
