import Foundation
public import Logging

/// `LOG_FORMAT=json`: one JSON object per line on standard error, for log shippers. `time`, `level`, `message`
/// and `logger` come first; the metadata follows with its own keys (`request_id`, `route`, `status`,
/// `duration_ms`, `worker`, `api_key`, …), numbers for the numeric ones. Each line is written with a single
/// `write(2)`, so lines of concurrent threads and of every worker sharing the log file never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let write: @Sendable (String) -> Void

    /// A handler for `label` writing to standard error (or to `write`, in tests).
    public init(label: String, write: (@Sendable (String) -> Void)? = nil) {
        self.label = label
        self.write = write ?? { line in FileHandle.standardError.write(Data(line.utf8)) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if let error = event.error, all["error"] == nil { all["error"] = "\(error)" }
        write(Self.line(time: Date(), level: event.level, message: event.message.description, label: label,
                        metadata: all))
    }

    /// Keys whose values are written as JSON numbers when they are whole numbers.
    static let numericKeys: Set<String> = ["status", "duration_ms", "worker", "pid"]

    /// One log line, newline included.
    static func line(time: Date, level: Logger.Level, message: String, label: String,
                     metadata: Logger.Metadata) -> String {
        var out = "{\"time\":" + quoted(time.formatted(timeStyle)) + ",\"level\":" + quoted(level.rawValue)
            + ",\"message\":" + quoted(message) + ",\"logger\":" + quoted(label)
        for key in metadata.keys.sorted() where !["time", "level", "message", "logger"].contains(key) {
            guard let value = metadata[key] else { continue }
            out += "," + quoted(key) + ":"
            if numericKeys.contains(key), case .string(let text) = value, let number = Int(text) {
                out += String(number)
            } else {
                out += json(value)
            }
        }
        return out + "}\n"
    }

    private static let timeStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return quoted(text)
        case .stringConvertible(let convertible): return quoted(convertible.description)
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values):
            return "{" + values.keys.sorted().compactMap { key in values[key].map { quoted(key) + ":" + json($0) } }
                .joined(separator: ",") + "}"
        }
    }

    /// A JSON string literal: every control character escaped, so a message can never break its line.
    static func quoted(_ text: String) -> String { QuotedString.doubleQuoted(text) }
}
