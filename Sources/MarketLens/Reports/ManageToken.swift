import Crypto
import Foundation

/// The secret of a manage link (`/manage/{token}`, product.md §15): whoever holds it owns a report or a batch.
/// 192 random bits, base64url (32 characters). Only its SHA-256 is stored, so a database dump grants nothing;
/// reports and batches share this one type and the same `manage_token_hash` column.
public struct ManageToken: Sendable, Equatable {
    /// The token as it appears in the link and the `Authorization: Bearer` header.
    public let value: String

    /// A fresh random token.
    public static func generate() -> ManageToken {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return ManageToken(uncheckedValue: Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))
    }

    /// A token presented by a client, when it has the shape of one (anything else matches nothing: reject early).
    public init?(presented text: String) {
        guard text.utf8.count == 32,
              text.utf8.allSatisfy({ $0 == 45 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0)
                                     || (97...122).contains($0) })
        else { return nil }
        value = text
    }

    private init(uncheckedValue: String) { value = uncheckedValue }

    /// The SHA-256 stored in `manage_token_hash` and compared on every use.
    public var hash: [UInt8] { Array(SHA256.hash(data: Array(value.utf8))) }

    /// The absolute manage link for `baseURL` (`BASE_URL`).
    public func url(baseURL: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/manage/\(value)"
    }

    /// The token of an `Authorization: Bearer …` header value, if it holds a well-formed one.
    public static func bearer(_ header: String?) -> ManageToken? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return ManageToken(presented: parts[1].trimmingCharacters(in: .whitespaces))
    }
}
