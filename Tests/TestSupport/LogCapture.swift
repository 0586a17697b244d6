public import Logging
import Synchronization

/// Collects every log event in memory, for tests that assert what was (or was never) logged: a secret must not
/// appear, a monitor must log which runs it followed.
public final class LogCapture: Sendable {
    /// One captured event; metadata values rendered as text, handler metadata merged with the event's.
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// Every event so far, in order.
    public var all: [Entry] { entries.withLock { $0 } }

    /// Every event as one line of text (level, message, metadata), for substring checks.
    public var lines: [String] {
        all.map { entry in
            let fields = entry.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "\(entry.level) \(entry.message) \(fields)"
        }
    }

    /// A logger writing into this capture at trace level.
    public var logger: Logger { logger() }

    /// A logger with `label` writing into this capture at trace level.
    public func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(capture: self) }
    }

    fileprivate func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { _, new in new } }
            capture.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
