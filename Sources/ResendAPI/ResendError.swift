public import HTTPClient

/// A failed send. `description` and `debugDescription` never contain the API key or an e-mail address.
public enum ResendError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Non-2xx answer, from `{statusCode, message, name}` or a non-JSON body. `retryAfter` in seconds when sent.
    case api(status: Int, name: String?, message: String, retryable: Bool, retryAfter: Double?)
    /// libcurl failed; retry with the same Idempotency-Key.
    case transport(HTTPClientError)
    /// A 2xx answer without an `id`.
    case decoding(String)
    /// The request could not be built.
    case invalidRequest(String)

    /// Whether sending again later (with the same Idempotency-Key) can succeed.
    public var isRetryable: Bool {
        switch self {
        case .api(_, _, _, let retryable, _): return retryable
        case .transport: return true
        case .decoding, .invalidRequest: return false
        }
    }

    /// Retry classes of §7: 5xx; 429 only `rate_limit_exceeded` (not the daily or monthly quota); 409 only
    /// `concurrent_idempotent_requests` (the same key with another payload stays an error).
    public static func isRetryable(status: Int, name: String?) -> Bool {
        switch status {
        case 500...599: return true
        case 429: return name == nil || name == "rate_limit_exceeded"
        case 409: return name == "concurrent_idempotent_requests"
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .api(let status, let name, let message, _, _):
            return "Resend API error \(status)\(name.map { " \($0)" } ?? ""): \(message)"
        case .transport(let error):
            return "Resend transport error: \(error.kind) (curl \(error.code) in \(error.call))"
        case .decoding(let what):
            return "Resend response could not be decoded: \(what)"
        case .invalidRequest(let what):
            return "Resend request could not be built: \(what)"
        }
    }

    public var debugDescription: String {
        switch self {
        case .api(_, _, _, let retryable, let retryAfter):
            return "\(description) retryable=\(retryable) retryAfter=\(retryAfter.map { "\($0)" } ?? "-")"
        case .transport(let error):
            return "\(description) requestNotSent=\(error.requestNotSent)"
        default:
            return description
        }
    }
}

/// Removes e-mail addresses and a secret from text that came from outside (Resend messages can quote the recipient).
enum Redaction {
    static func redact(_ text: String, secret: String) -> String {
        var result = text
        if secret.count >= 4 { result = result.replacingOccurrences(of: secret, with: "[redacted]") }
        return redactAddresses(result)
    }

    /// Replaces every `local@domain` token with `[address]`.
    static func redactAddresses(_ text: String) -> String {
        guard text.contains("@") else { return text }
        var output = ""
        var token = ""
        func flush() {
            output += token.contains("@") && token.count > 2 ? "[address]" : token
            token = ""
        }
        for character in text {
            if character.isWhitespace || "<>()[]{},;:\"'".contains(character) {
                flush()
                output.append(character)
            } else {
                token.append(character)
            }
        }
        flush()
        return output
    }
}
