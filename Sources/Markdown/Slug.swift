internal import Foundation

/// Heading anchors: ASCII slugs, made unique within one document.
struct AnchorAllocator {
    private var used: Set<String>
    /// The next suffix to try per base slug, so a thousand "Overview" headings cost linear, not quadratic, time.
    private var nextSuffix: [String: Int] = [:]
    private let reservesCitationAnchors: Bool

    init(reserved: Set<String>, reservesCitationAnchors: Bool) {
        used = reserved
        self.reservesCitationAnchors = reservesCitationAnchors
    }

    /// A unique anchor for heading text `text`: `slug`, then `slug-2`, `slug-3`…
    mutating func allocate(for text: String) -> String {
        let base = Self.slug(text)
        var candidate = base
        var counter = nextSuffix[base] ?? 2
        while used.contains(candidate) || isCitationAnchor(candidate) {
            candidate = "\(base)-\(counter)"
            counter += 1
        }
        if candidate != base { nextSuffix[base] = counter }
        used.insert(candidate)
        return candidate
    }

    private func isCitationAnchor(_ anchor: String) -> Bool {
        guard reservesCitationAnchors, anchor.hasPrefix("ref-") else { return false }
        let digits = anchor.dropFirst(4)
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
    }

    /// Lower-case ASCII letters and digits joined by single hyphens, at most 80 characters; accents are
    /// transliterated (`Café` → `cafe`), other scripts romanised where the platform can; `section` if nothing
    /// is left.
    static func slug(_ text: String) -> String {
        // Transliteration is costly; plain ASCII headings (the common case) skip it.
        let latin =
            text.utf8.allSatisfy({ $0 < 0x80 }) ? text : text.applyingTransform(StringTransform(rawValue: "Any-Latin; Latin-ASCII"), reverse: false)
            ?? text.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        var slug = ""
        var pendingHyphen = false
        for scalar in latin.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingHyphen && !slug.isEmpty { slug += "-" }
                pendingHyphen = false
                slug.unicodeScalars.append(scalar)
                if slug.unicodeScalars.count >= 80 { break }
            } else {
                pendingHyphen = true
            }
        }
        return slug.isEmpty ? "section" : slug
    }
}
