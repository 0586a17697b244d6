/// A report request as the visitor sent it, before any cleaning. Missing fields are nil.
public struct ResearchRequestInput: Sendable, Equatable {
    public var industry: String?
    public var region: String?
    public var focus: String?
    public var email: String?
    public var visibility: String?

    /// Creates an input from raw field values.
    public init(industry: String?, region: String? = nil, focus: String? = nil, email: String? = nil,
                visibility: String? = nil) {
        self.industry = industry
        self.region = region
        self.focus = focus
        self.email = email
        self.visibility = visibility
    }
}

/// A normalised request that passed every local check: what a report row is made from.
public struct ResearchRequest: Sendable, Equatable {
    /// Who may find the report.
    public enum Visibility: String, Sendable, CaseIterable {
        /// Listed in the public library.
        case listed = "public"
        /// Reachable only by its link.
        case unlisted
    }

    public var industry: String
    /// Empty when not given.
    public var region: String
    /// Empty when not given; may hold line breaks.
    public var focus: String
    /// Lower-cased domain; never logged or shown to anyone but its owner.
    public var email: String?
    public var visibility: Visibility

    /// Creates a request from values that are already normalised (used for retries of stored reports).
    public init(industry: String, region: String, focus: String, email: String?, visibility: Visibility) {
        self.industry = industry
        self.region = region
        self.focus = focus
        self.email = email
        self.visibility = visibility
    }

    /// `{Industry} Market Research Report`, plus ` – {Region}` when a region was given (product.md §7.5).
    public var title: String {
        let base = ReportTitle.capitalizingFirst(industry) + " Market Research Report"
        return region.isEmpty ? base : base + " – " + region
    }
}

/// The outcome of the local checks: the cleaned values (to show the form again) and a message per bad field.
public struct ResearchRequestValidation: Sendable, Equatable {
    /// Normalised values by field name (`industry`, `region`, `focus`, `email`, `visibility`).
    public var values: [String: String]
    /// One message per invalid field; empty when valid.
    public var fields: [String: String]
    /// The request, when every field is valid.
    public var request: ResearchRequest?

    /// True when there is nothing to fix.
    public var isValid: Bool { request != nil }
}

/// Normalises and checks a request locally (product.md §7.1); pure, so the form, the JSON API and
/// `/api/v1/validate` give the same answers.
public enum ResearchRequestValidator {
    /// Longest industry, in Unicode scalars (the database's `length()`).
    public static let industryMaxLength = 120
    /// Shortest industry.
    public static let industryMinLength = 2
    /// Longest region.
    public static let regionMaxLength = 80
    /// Longest research focus.
    public static let focusMaxLength = 2000
    /// Longest e-mail address (RFC 5321 path limit).
    public static let emailMaxLength = 254

    /// Normalises every field and checks it; see `ResearchRequestValidation`.
    public static func validate(_ input: ResearchRequestInput) -> ResearchRequestValidation {
        let industry = TextNormalizer.singleLine(input.industry ?? "")
        let region = TextNormalizer.singleLine(input.region ?? "")
        let focus = TextNormalizer.multiLine(input.focus ?? "")
        let emailText = TextNormalizer.singleLine(input.email ?? "")
        let visibilityText = TextNormalizer.singleLine(input.visibility ?? "").lowercased()

        var fields: [String: String] = [:]
        let industryLength = TextNormalizer.length(industry)
        if industry.isEmpty {
            fields["industry"] = "Enter the industry you want researched."
        } else if industryLength > industryMaxLength {
            fields["industry"] = "Keep the industry to \(industryMaxLength) characters or fewer (this one has \(industryLength))."
        } else if industryLength < industryMinLength {
            fields["industry"] = "Use at least \(industryMinLength) characters to describe the industry."
        } else if !TextNormalizer.hasLetterOrDigit(industry) {
            fields["industry"] = "Describe the industry in words: it has no letters or digits."
        }
        let regionLength = TextNormalizer.length(region)
        if regionLength > regionMaxLength {
            fields["region"] = "Keep the region to \(regionMaxLength) characters or fewer (this one has \(regionLength))."
        } else if !region.isEmpty && !TextNormalizer.hasLetterOrDigit(region) {
            fields["region"] = "Name the region in words, or leave it empty."
        }
        let focusLength = TextNormalizer.length(focus)
        if focusLength > focusMaxLength {
            fields["focus"] = "Keep the research focus to 2,000 characters or fewer (this one has \(focusLength))."
        }

        var email: String?
        var emailValue = emailText
        if !emailText.isEmpty {
            switch EmailAddress.normalize(emailText) {
            case .success(let normalized):
                email = normalized
                emailValue = normalized
            case .failure(let problem):
                fields["email"] = problem.message
            }
        }

        var visibility = ResearchRequest.Visibility.listed
        if !visibilityText.isEmpty {
            if let chosen = ResearchRequest.Visibility(rawValue: visibilityText) {
                visibility = chosen
            } else {
                fields["visibility"] = "Choose public or unlisted."
            }
        }

        let values = [
            "industry": industry, "region": region, "focus": focus, "email": emailValue,
            "visibility": fields["visibility"] == nil ? visibility.rawValue : visibilityText,
        ]
        let request = fields.isEmpty
            ? ResearchRequest(industry: industry, region: region, focus: focus, email: email, visibility: visibility)
            : nil
        return ResearchRequestValidation(values: values, fields: fields, request: request)
    }
}

/// Report titles.
enum ReportTitle {
    /// The text with its first character upper-cased (`cold-chain logistics` → `Cold-chain logistics`), unless the
    /// first word already mixes cases (`eVTOL aircraft`, `iPhone accessories`): then it is a name, left alone.
    static func capitalizingFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        let firstWord = text.prefix { !$0.isWhitespace }
        if firstWord.dropFirst().contains(where: \.isUppercase) { return text }
        return first.uppercased() + text.dropFirst()
    }
}
