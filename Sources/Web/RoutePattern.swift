/// A compiled route path such as `/reports/:id`, `/r/:slug.md` (a parameter with a literal suffix) or
/// `/static/*rest` (a wildcard taking one or more remaining segments; it must come last).
struct RoutePattern: Sendable, Equatable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(name: String, suffix: String)
        case wildcard(name: String)

        /// Higher is more specific; the most specific matching route wins whatever the registration order.
        var specificity: Int {
            switch self {
            case .literal: 3
            case .parameter(_, let suffix): suffix.isEmpty ? 1 : 2
            case .wildcard: 0
            }
        }
    }

    let text: String
    let segments: [Segment]

    /// Nil when the pattern is malformed (no leading `/`, empty segment, unnamed parameter, inner wildcard).
    init?(_ text: String) {
        guard text.hasPrefix("/") else { return nil }
        self.text = text
        if text == "/" {
            segments = []
            return
        }
        let parts = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var segments: [Segment] = []
        for (offset, part) in parts.enumerated() {
            guard !part.isEmpty else { return nil }
            if part.hasPrefix(":") {
                let name = part.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                guard !name.isEmpty else { return nil }
                segments.append(.parameter(name: String(name), suffix: String(part.dropFirst(1 + name.count))))
            } else if part.hasPrefix("*") {
                guard offset == parts.count - 1, part.count > 1 else { return nil }
                segments.append(.wildcard(name: String(part.dropFirst())))
            } else {
                segments.append(.literal(String(part)))
            }
        }
        self.segments = segments
    }

    var specificity: [Int] { segments.map(\.specificity) }

    /// The parameters when `path` (already split and decoded) matches, else nil.
    func match(_ path: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (index, segment) in segments.enumerated() {
            switch segment {
            case .literal(let literal):
                guard index < path.count, path[index] == literal else { return nil }
            case .parameter(let name, let suffix):
                guard index < path.count, path[index].count > suffix.count, path[index].hasSuffix(suffix) else {
                    return nil
                }
                parameters[name] = String(path[index].dropLast(suffix.count))
            case .wildcard(let name):
                let rest = path[min(index, path.count)...]
                // Dot segments could walk out of a directory if the value is used as a file path.
                guard !rest.isEmpty, !rest.contains(where: { $0 == "." || $0 == ".." || $0.contains("/") }) else {
                    return nil
                }
                parameters[name] = rest.joined(separator: "/")
                return parameters
            }
        }
        return path.count == segments.count ? parameters : nil
    }

    /// Splits a raw request path into strictly decoded segments. Nil for a path that cannot match any route
    /// (no leading `/`, or an empty segment as in `//x` or `/x/`); throws 400 for bad percent-encoding.
    static func split(_ path: String) throws(HTTPError) -> [String]? {
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        if bytes.count == 1 { return [] }
        var segments: [String] = []
        // Split on bytes, not Characters: `/` followed by a combining mark is still a separator.
        for part in bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard !part.isEmpty else { return nil }
            segments.append(try PercentDecoding.decode(Substring(part), plusAsSpace: false))
        }
        return segments
    }
}
