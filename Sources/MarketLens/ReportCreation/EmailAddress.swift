/// Syntax checks for the optional "e-mail me" address: a practical subset of RFC 5321/5322 (dot-atom local part,
/// ASCII host name with at least two labels), which is what mail providers accept in practice.
public enum EmailAddress {
    /// Why an address was refused; `message` is shown next to the field.
    public enum Problem: Error, Sendable, Equatable {
        case tooLong
        case invalid

        /// The sentence for the form.
        public var message: String {
            switch self {
            case .tooLong: "An e-mail address can have at most \(ResearchRequestValidator.emailMaxLength) characters."
            case .invalid: "Enter a valid e-mail address, such as name@example.com, or leave the field empty."
            }
        }
    }

    private static let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-".utf8)
    private static let labelBytes = Set("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)

    /// The address with its domain lower-cased (the local part is case-sensitive by the standard), or the problem.
    public static func normalize(_ text: String) -> Result<String, Problem> {
        guard TextNormalizer.length(text) <= ResearchRequestValidator.emailMaxLength else { return .failure(.tooLong) }
        guard let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) else { return .failure(.invalid) }
        let local = Array(text.utf8[..<at])
        let domain = Array(String(text[text.utf8.index(after: at)...]).lowercased().utf8)
        guard isValidLocalPart(local), isValidDomain(domain) else { return .failure(.invalid) }
        return .success(String(decoding: local, as: UTF8.self) + "@" + String(decoding: domain, as: UTF8.self))
    }

    static func isValidLocalPart(_ bytes: [UInt8]) -> Bool {
        guard (1...64).contains(bytes.count), bytes.first != UInt8(ascii: "."), bytes.last != UInt8(ascii: ".") else {
            return false
        }
        var previousDot = false
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previousDot { return false }
                previousDot = true
            } else {
                guard atext.contains(byte) else { return false }
                previousDot = false
            }
        }
        return true
    }

    static func isValidDomain(_ bytes: [UInt8]) -> Bool {
        guard (3...253).contains(bytes.count) else { return false }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard (1...63).contains(label.count), label.allSatisfy(labelBytes.contains),
                label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-")
            else { return false }
        }
        // A top-level domain is never all digits (that would be an IP address, which we do not mail).
        guard let tld = labels.last, tld.count >= 2, !tld.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return false }
        return true
    }
}
