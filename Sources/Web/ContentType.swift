/// A parsed `Content-Type` (or any media-type header): `type/subtype` lower-cased plus parameters.
public struct ContentType: Sendable, Equatable {
    /// `type/subtype`, lower-cased, e.g. `application/json`.
    public var mediaType: String
    /// Parameters with lower-cased names; quoted values unquoted.
    public var parameters: [String: String]

    /// Creates a content type from parts.
    public init(mediaType: String, parameters: [String: String] = [:]) {
        self.mediaType = mediaType.lowercased()
        self.parameters = parameters
    }

    /// Parses `text/html; charset="UTF-8"`; nil when the media type is not `token/token`.
    public init?(parsing header: String) {
        var rest = Substring(header)
        let typeEnd = rest.firstIndex(of: ";") ?? rest.endIndex
        let media = rest[..<typeEnd].trimmingWhitespace().lowercased()
        let parts = media.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isTokenCharacter) }) else {
            return nil
        }
        var parameters: [String: String] = [:]
        rest = typeEnd == rest.endIndex ? "" : rest[rest.index(after: typeEnd)...]
        while !rest.isEmpty {
            let end = Self.parameterEnd(in: rest)
            let parameter = rest[..<end]
            rest = end == rest.endIndex ? "" : rest[rest.index(after: end)...]
            guard let equals = parameter.firstIndex(of: "=") else { continue }
            let name = parameter[..<equals].trimmingWhitespace().lowercased()
            var value = parameter[parameter.index(after: equals)...].trimmingWhitespace()
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = String(value.dropFirst().dropLast()).replacingBackslashEscapes()
            }
            if !name.isEmpty, parameters[name] == nil { parameters[name] = value }
        }
        self.mediaType = media
        self.parameters = parameters
    }

    /// The `charset` parameter, lower-cased.
    public var charset: String? { parameters["charset"]?.lowercased() }

    /// `application/json` or any `application/…+json`.
    public var isJSON: Bool {
        mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// `application/x-www-form-urlencoded`.
    public var isURLEncodedForm: Bool { mediaType == "application/x-www-form-urlencoded" }

    /// Whether the charset is absent or UTF-8 (the only one this application decodes).
    public var isUTF8OrUnspecified: Bool { charset == nil || charset == "utf-8" || charset == "utf8" }

    /// The header value, e.g. `text/html; charset=utf-8`.
    public var headerValue: String {
        ([mediaType] + parameters.keys.sorted().map { "\($0)=\(parameters[$0] ?? "")" }).joined(separator: "; ")
    }

    static func isTokenCharacter(_ character: Character) -> Bool {
        guard character.isASCII, let scalar = character.unicodeScalars.first, scalar.value > 32, scalar.value < 127
        else { return false }
        return !"()<>@,;:\\\"/[]?={}".contains(character)
    }

    /// The index of the `;` ending the parameter at the start of `text`, skipping quoted strings.
    private static func parameterEnd(in text: Substring) -> Substring.Index {
        var inQuotes = false
        var escaped = false
        var index = text.startIndex
        while index != text.endIndex {
            let character = text[index]
            if escaped {
                escaped = false
            } else if character == "\\" && inQuotes {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == ";" && !inQuotes {
                return index
            }
            index = text.index(after: index)
        }
        return text.endIndex
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingWhitespace() -> String {
        let isOWS: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isOWS($0) }), let last = lastIndex(where: { !isOWS($0) }) else {
            return ""
        }
        return String(self[first...last])
    }

    fileprivate func replacingBackslashEscapes() -> String {
        var out = ""
        var escaped = false
        for character in self {
            if escaped || character != "\\" {
                out.append(character)
                escaped = false
            } else {
                escaped = true
            }
        }
        return out
    }
}
