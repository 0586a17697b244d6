import Crypto
import Foundation

/// RFC 3339 UTC timestamps with microseconds, e.g. `2026-01-10T09:00:00.104211Z`.
enum Timestamp {
    static func format(_ d: Date) -> String {
        let t = d.timeIntervalSince1970
        var secs = time_t(floor(t))
        var micros = Int(((t - floor(t)) * 1_000_000).rounded())
        if micros >= 1_000_000 { micros -= 1_000_000; secs += 1 }
        var tmv = tm()
        gmtime_r(&secs, &tmv)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1,
                      Int(tmv.tm_mday), Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), micros)
    }
}

/// SplitMix64: small, seedable, deterministic.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func double(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(next() >> 11) / Double(1 << 53)
    }
    mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + Int(next() % UInt64(max(1, hi - lo + 1))) }
    mutating func pick<T>(_ a: [T]) -> T { a[Int(next() % UInt64(a.count))] }
}

/// FNV-1a 64-bit, for deriving content seeds from inputs.
func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
    return h
}

/// Random identifiers (not part of the deterministic content).
enum IDs {
    static func hex(_ n: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return String((0..<n).map { _ in "0123456789abcdef".randomElement(using: &g) ?? "0" })
    }
    static func run() -> String { "trun_" + hex(32) }
    static func group() -> String { "tgrp_" + hex(20) }
    static func uuid() -> String { UUID().uuidString.lowercased() }
    static func webhookEvent() -> String { "whevent_" + hex(24) }
}

/// Base64 of HMAC-SHA256(key, message).
func hmacSHA256Base64(key: [UInt8], message: [UInt8]) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
    return Data(mac).base64EncodedString()
}

/// The `v1,<base64>` Standard Webhooks signature over `id.timestamp.body`.
func webhookSignature(key: [UInt8], id: String, timestamp: String, body: [UInt8]) -> String {
    "v1," + hmacSHA256Base64(key: key, message: Array("\(id).\(timestamp).".utf8) + body)
}

/// Lowercase hex SHA-256.
func sha256Hex(_ s: String) -> String {
    SHA256.hash(data: Array(s.utf8)).map { String(format: "%02x", $0) }.joined()
}

/// Unpadded base64url SHA-256, as in the PKCE S256 method.
func pkceS256(_ verifier: String) -> String {
    Data(SHA256.hash(data: Array(verifier.utf8))).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Safe-to-show form of a secret: hash prefix and last four characters.
func redactSecret(_ s: String) -> String {
    "redacted(sha256:\(sha256Hex(s).prefix(12)),last4:\(s.suffix(4)))"
}
