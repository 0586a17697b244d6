import Crypto
public import Foundation

/// An API key as stored: who it is for (`name`), its own hourly limits, and its life. Never holds the secret.
public struct APIKey: Sendable, Equatable {
    /// Eight `[a-z0-9]` characters, also part of the key itself: what `apikeys list` shows and `revoke` accepts.
    public var publicID: String
    /// The holder's name, chosen by the operator; the only thing about a key that reaches the logs.
    public var name: String
    /// Reports this key may create per clock hour (replaces `MAX_REPORTS_PER_CLIENT_PER_HOUR` for its holder).
    public var reportsPerHour: Int
    /// Batch runs (one per company domain) this key may start per clock hour (replaces
    /// `MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR`).
    public var batchRunsPerHour: Int
    /// When `apikeys create` made it.
    public var createdAt: Date
    /// The last request that presented it (updated at most once a minute).
    public var lastUsedAt: Date?
    /// Set by `apikeys revoke`: the key is answered 401 from then on.
    public var revokedAt: Date?

    /// The key's shown prefix, `mlk_<public id>`: enough to recognise a key, useless to present.
    public var prefix: String { APIKeySecret.prefix + publicID }
}

/// The secret an API client sends as `Authorization: Bearer mlk_<public id>_<32 random base64url characters>`
/// (192 random bits, as a manage token). The `mlk_` prefix tells it apart from a manage token, which owner
/// routes also take as a bearer. Only its SHA-256 is stored.
public struct APIKeySecret: Sendable, Equatable {
    static let prefix = "mlk_"
    private static let publicIDAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")

    /// The whole key, shown to the operator once and then forgotten.
    public let value: String

    /// A fresh key with a fresh random public id.
    public static func generate() -> APIKeySecret {
        var generator = SystemRandomNumberGenerator()
        let publicID = String((0..<8).map { _ in
            publicIDAlphabet[Int(generator.next(upperBound: UInt(publicIDAlphabet.count)))]
        })
        return APIKeySecret(uncheckedValue: prefix + publicID + "_" + ManageToken.generate().value)
    }

    /// A presented key, when it has the shape of one (anything else cannot match a stored hash).
    public init?(presented text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == Self.prefix.utf8.count + 8 + 1 + 32, text.hasPrefix(Self.prefix),
              bytes[12] == UInt8(ascii: "_"),
              bytes[4..<12].allSatisfy({ (48...57).contains($0) || (97...122).contains($0) }),
              ManageToken(presented: String(decoding: bytes[13...], as: UTF8.self)) != nil
        else { return nil }
        value = text
    }

    private init(uncheckedValue: String) { value = uncheckedValue }

    /// The public id inside the key.
    public var publicID: String { String(value.dropFirst(Self.prefix.count).prefix(8)) }

    /// The SHA-256 stored in `api_keys.key_hash`.
    public var hash: [UInt8] { Array(SHA256.hash(data: Array(value.utf8))) }

    /// True when a bearer value claims to be an API key (by its prefix), well-formed or not.
    public static func looksLikeKey(_ bearer: String) -> Bool { bearer.hasPrefix(prefix) }
}
