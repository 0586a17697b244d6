import Foundation

/// Typed reads of environment variables with the error naming the variable (never its value: it may be a secret).
struct EnvironmentReader {
    let environment: [String: String]

    init(_ environment: [String: String]) { self.environment = environment }

    func nonEmpty(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = nonEmpty(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(
                variable: name, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func url(_ name: String, default fallback: String) throws(ConfigurationError) -> String {
        guard let text = nonEmpty(name) else { return fallback }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", components.host?.isEmpty == false
        else {
            throw ConfigurationError(variable: name, problem: "must be an http(s) URL")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    func choice(_ name: String, default fallback: String, allowed: [String]) throws(ConfigurationError) -> String {
        guard let text = nonEmpty(name) else { return fallback }
        guard allowed.contains(text) else {
            throw ConfigurationError(variable: name, problem: "must be one of \(allowed.joined(separator: ", "))")
        }
        return text
    }
}

/// Reads `KEY=value` lines of a `.env` file; variables already set in the process environment win.
public enum EnvironmentFile {
    /// Parses `.env` text: comments (`#`), blank lines, optional `export `, single or double quotes.
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            values[key] = value
        }
        return values
    }

    /// The process environment overlaid on the `.env` file at `path`, if it exists.
    public static func merged(processEnvironment: [String: String], path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return processEnvironment }
        return parse(text).merging(processEnvironment) { _, process in process }
    }
}
