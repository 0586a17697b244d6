import Crypto
import Foundation
import ParallelAPI

/// Translates upstream run events into our event vocabulary (product.md §8) with a dedupe key that names the
/// upstream event, so the replay upstream sends on every reconnect (§3.4) is stored once, whichever process
/// follows the run.
enum RunEventMapping {
    /// One event to store, and what it changes on the report row.
    struct Mapped: Equatable, Sendable {
        var event: ReportEvent
        var dedupeKey: String
        /// The report is (still) running upstream: set `status = 'running'` and `started_at`.
        var marksRunning: Bool
    }

    /// How many recently read sources a progress event carries.
    static let recentSourceLimit = 5
    /// Longest message text kept (upstream reasoning can be long; the feed shows a line).
    static let messageLimit = 4000

    /// The stored form of `event`, or nil for events we do not store (terminal states are the completion's job,
    /// unknown types are skipped).
    static func map(_ event: RunEvent) -> Mapped? {
        switch event {
        case .state(let state):
            let status = state.run.status
            guard status.isActive || status == .actionRequired else { return nil }
            let message: String
            switch status {
            case .queued: message = "Waiting for the research run to start."
            case .running: message = "Research is running."
            case .cancelling: message = "The research run is being cancelled."
            default: message = "The research run is waiting upstream."
            }
            let state = status == .actionRequired ? "running" : status.rawValue
            return Mapped(event: .status(.init(state: state, message: message)), dedupeKey: "state:\(status.rawValue)",
                          marksRunning: status == .running)
        case .progressStats(let stats):
            let meter = min(max(stats.progressMeter ?? 0, 0), 100)
            let considered = max(stats.numSourcesConsidered ?? 0, 0)
            let read = max(stats.numSourcesRead ?? 0, 0)
            let payload = ReportEvent.ProgressPayload(
                progress: meter, sourcesConsidered: considered, sourcesRead: read,
                recentSources: recentSources(stats.sourcesReadSample ?? []))
            return Mapped(event: .progress(payload), dedupeKey: "stats:\(meter):\(considered):\(read)", marksRunning: true)
        case .progressMessage(let message):
            let kind = safeKind(message.kind)
            let text = SafeText.clean(message.message, limit: messageLimit)
            let timestamp = message.timestamp.map { String($0.prefix(64)) }
            let key = "msg:\(kind):\(timestamp ?? "-"):\(digest(message.message))"
            return Mapped(event: .message(.init(kind: kind, text: text, timestamp: timestamp)), dedupeKey: key,
                          marksRunning: true)
        case .error(let error):
            let text = SafeText.clean(error.message, limit: 500)
            let key = "error:\(error.refID.map { String($0.prefix(80)) } ?? "-"):\(digest(error.message))"
            return Mapped(event: .error(.init(message: text.isEmpty ? "Upstream reported a problem." : text,
                                              recoverable: true)),
                          dedupeKey: key, marksRunning: false)
        case .groupStatus, .unknown:
            return nil
        }
    }

    /// The last few sampled URLs that are http(s), newest last.
    static func recentSources(_ sample: [String]) -> [String] {
        let web = sample.filter { url in
            guard url.count <= 2048, let components = URLComponents(string: url),
                  let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  components.host?.isEmpty == false
            else { return false }
            return true
        }
        return Array(web.suffix(recentSourceLimit))
    }

    /// A `progress_msg` suffix reduced to a short label of letters, digits and `_`.
    static func safeKind(_ kind: String) -> String {
        let cleaned = String(kind.lowercased().unicodeScalars.filter {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_")
        }.prefix(40).map(Character.init))
        return cleaned.isEmpty ? "info" : cleaned
    }

    /// First 16 hex digits of SHA-256: enough to tell messages with the same kind and timestamp apart.
    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// Upstream text made safe to store and show: control characters removed, whitespace kept, length-limited.
enum SafeText {
    static func clean(_ text: String, limit: Int) -> String {
        let kept = text.unicodeScalars.filter { scalar in
            scalar == "\n" || scalar == "\t" || !CharacterSet.controlCharacters.contains(scalar)
        }
        var result = String(String.UnicodeScalarView(kept)).trimmingCharacters(in: .whitespacesAndNewlines)
        if result.count > limit { result = String(result.prefix(limit - 1)) + "…" }
        return result
    }
}
