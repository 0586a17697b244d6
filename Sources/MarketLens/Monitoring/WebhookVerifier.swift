import Crypto
public import Foundation

/// Verifies Parallel's Standard-Webhooks signatures (upstream-api.md §5): `webhook-signature` holds one or more
/// space-separated `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>` entries (several while secrets rotate); any
/// matching entry is enough. Comparison is constant-time; the timestamp must be within the tolerance.
public struct WebhookVerifier: Sendable {
    /// Why a delivery was refused.
    public enum Failure: Error, Sendable, Equatable {
        /// A required header is missing or malformed.
        case missingHeaders
        /// No signature entry matched.
        case badSignature
        /// `webhook-timestamp` is outside the tolerance.
        case staleTimestamp
    }

    private let key: [UInt8]
    /// Accepted clock skew, seconds.
    public let tolerance: Double

    /// A verifier for `secret`: its UTF-8 bytes (`raw`, Parallel's examples), or with `whsec` the base64-decoded
    /// part after `whsec_` (the Standard Webhooks libraries).
    public init(secret: String, whsec: Bool = false, tolerance: Double = 300) {
        if whsec, secret.hasPrefix("whsec_"), let decoded = Data(base64Encoded: String(secret.dropFirst(6))) {
            key = Array(decoded)
        } else {
            key = Array(secret.utf8)
        }
        self.tolerance = tolerance
    }

    /// Checks a delivery; `now` is injectable for tests.
    public func verify(id: String?, timestamp: String?, signature: String?, body: [UInt8], now: Date = Date())
        throws(Failure)
    {
        guard let id, !id.isEmpty, let timestamp, let seconds = Int64(timestamp.trimmingCharacters(in: .whitespaces)),
              let signature, !signature.isEmpty
        else { throw .missingHeaders }
        let expected = self.signature(id: id, timestamp: timestamp.trimmingCharacters(in: .whitespaces), body: body)
        var matched = false
        for entry in signature.split(separator: " ") {
            guard let comma = entry.firstIndex(of: ",") else { continue }
            let version = entry[..<comma]
            let value = Array(entry[entry.index(after: comma)...].utf8)
            // Every entry is compared, so the time taken does not reveal which one matched.
            if version == "v1" && Self.constantTimeEquals(value, Array(expected.utf8)) { matched = true }
        }
        guard matched else { throw .badSignature }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { throw .staleTimestamp }
    }

    /// `base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))`.
    public func signature(id: String, timestamp: String, body: [UInt8]) -> String {
        var message = Array("\(id).\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return Data(mac).base64EncodedString()
    }

    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
