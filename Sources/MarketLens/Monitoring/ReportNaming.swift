import Foundation

/// The published name of a report (product.md §7.5): its title and its URL slug.
public enum ReportNaming {
    /// `{Industry} Market Research Report`, plus ` – {Region}` when a region was given.
    public static func title(industry: String, region: String) -> String {
        let industry = industry.trimmingCharacters(in: .whitespacesAndNewlines)
        let region = region.trimmingCharacters(in: .whitespacesAndNewlines)
        let capitalised = industry.prefix(1).uppercased() + industry.dropFirst()
        let base = "\(capitalised) Market Research Report"
        return region.isEmpty ? base : "\(base) – \(region)"
    }

    /// The readable part of a slug: transliterated to Latin ASCII, lower-case, words joined by single hyphens,
    /// at most 80 characters (cut at a hyphen when possible); `report` when nothing is left.
    public static func slugBase(_ text: String) -> String {
        let latin = text.applyingTransform(.toLatin, reverse: false) ?? text
        let folded = latin.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive],
                                   locale: Locale(identifier: "en_US_POSIX"))
        var slug = ""
        var pendingHyphen = false
        for scalar in folded.lowercased().unicodeScalars {
            let isWordCharacter = scalar.isASCII
                && (("a"..."z").contains(Character(scalar)) || ("0"..."9").contains(Character(scalar)))
            if isWordCharacter {
                if pendingHyphen && !slug.isEmpty { slug.append("-") }
                pendingHyphen = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingHyphen = true
            }
        }
        if slug.count > 80 {
            var cut = String(slug.prefix(80))
            if let hyphen = cut.lastIndex(of: "-"), cut.distance(from: cut.startIndex, to: hyphen) >= 40 {
                cut = String(cut[..<hyphen])
            }
            slug = cut.hasSuffix("-") ? String(cut.dropLast()) : cut
        }
        return slug.isEmpty ? "report" : slug
    }

    /// `base` plus `-` and 6 random base-36 characters; the unique index on `reports.slug` decides, so a clash is
    /// met by calling this again, never by probing first.
    public static func slug(base: String) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        let suffix = String((0..<6).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
        return base + "-" + suffix
    }
}
