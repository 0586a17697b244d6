import Foundation
import Web

/// Conditional requests for report pages: a strong-enough validator computed from what changes the page, and
/// `If-None-Match` evaluation.
enum ReaderCaching {
    /// Bumped whenever the report templates or rendering change, so browsers do not keep an older page.
    static let renderVersion = "reader-4"

    /// An ETag for one representation of a report: FNV-1a (64 bit) of the parts, quoted. The parts are the
    /// slug, the completion time, the visibility, the representation (`html`, `md`) and the state of the report's
    /// family (`ReportVersions.familyState`: a new version must change its older versions' pages).
    static func etag(slug: String, completedAt: Date?, visibility: String, representation: String,
                     family: String = "") -> String {
        let millis = completedAt.map { String(Int64(($0.timeIntervalSince1970 * 1000).rounded())) } ?? "-"
        let key = [renderVersion, representation, slug, millis, visibility, family].joined(separator: "|")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 requires for this header) or is `*`.
    static func matches(ifNoneMatch header: String?, etag: String) -> Bool {
        guard let header else { return false }
        let bare = etag.hasPrefix("W/") ? String(etag.dropFirst(2)) : etag
        for candidate in header.split(separator: ",") {
            var value = candidate.trimmingCharacters(in: .whitespaces)
            if value == "*" { return true }
            if value.hasPrefix("W/") { value.removeFirst(2) }
            if value == bare { return true }
        }
        return false
    }

    /// 304 Not Modified carrying the validator and caching headers of the full answer.
    static func notModified(etag: String, cacheControl: CacheControl) -> Response {
        Response(status: 304, headers: ["ETag": etag, "Cache-Control": cacheControl.headerValue])
    }
}
