public import Foundation
public import Web

/// The parameters of `GET /library`, validated: anything malformed is a 400 with a message per field, never a
/// database error.
public struct LibraryQuery: Sendable, Equatable {
    /// Result order.
    public enum Sort: String, Sendable, CaseIterable {
        case newest, oldest, relevance
    }

    /// The search text (`q`), trimmed; nil when empty.
    public var text: String?
    /// Exact region filter; nil for all regions.
    public var region: String?
    /// Completed on or after this day (UTC), as given (`YYYY-MM-DD`).
    public var from: LibraryDay?
    /// Completed on or before this day (UTC), as given.
    public var to: LibraryDay?
    /// The order; `relevance` only when there is search text (it is the default then).
    public var sort: Sort
    /// 1-based page number.
    public var page: Int

    /// Results per page.
    public static let pageSize = 20
    /// Deep pages cost an ever larger offset; nobody pages this far, so it is refused.
    public static let maxPage = 500
    /// Longest search text accepted.
    public static let maxTextLength = 200

    /// The unfiltered first page, newest first.
    public init() {
        text = nil
        region = nil
        from = nil
        to = nil
        sort = .newest
        page = 1
    }

    /// Parses the query string of a library request; throws a 400 naming each bad parameter.
    public init(form: URLEncodedForm) throws(HTTPError) {
        self.init()
        var problems: [String: String] = [:]
        if let raw = form["q"] {
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.count > Self.maxTextLength {
                problems["q"] = "Search text must be at most \(Self.maxTextLength) characters."
            } else if trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                problems["q"] = "Search text must not contain control characters."
            } else if !trimmed.isEmpty {
                text = trimmed
            }
        }
        if let raw = form["region"], !raw.isEmpty {
            if raw.count > 80 || raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                problems["region"] = "Unknown region."
            } else {
                region = raw
            }
        }
        for name in ["from", "to"] {
            guard let raw = form[name], !raw.isEmpty else { continue }
            guard let day = LibraryDay(raw) else {
                problems[name] = "Dates must be real days written as YYYY-MM-DD."
                continue
            }
            if name == "from" { from = day } else { to = day }
        }
        if let from, let to, from.start > to.start {
            problems["to"] = "The end date must not be before the start date."
        }
        if let raw = form["sort"], !raw.isEmpty {
            if let parsed = Sort(rawValue: raw) {
                sort = parsed
            } else {
                problems["sort"] = "Sort must be newest, oldest or relevance."
            }
        } else if text != nil {
            sort = .relevance
        }
        // Relevance needs search text; without it (the box was cleared) newest is what the visitor means.
        if sort == .relevance, text == nil { sort = .newest }
        if let raw = form["page"], !raw.isEmpty {
            if raw.utf8.count <= 4, raw.utf8.allSatisfy({ (48...57).contains($0) }), let number = Int(raw),
                (1...Self.maxPage).contains(number)
            {
                page = number
            } else {
                problems["page"] = "Page must be a number from 1 to \(Self.maxPage)."
            }
        }
        guard problems.isEmpty else {
            let message = problems.keys.sorted().compactMap { problems[$0] }.joined(separator: " ")
            throw HTTPError(status: 400, code: "invalid_query", message: message, fields: problems)
        }
    }

    /// Whether anything narrows the list (used for the empty state's wording).
    public var isFiltered: Bool { text != nil || region != nil || from != nil || to != nil }

    /// The query string of this search at another page (parameters at their defaults are left out).
    public func queryString(page: Int) -> String {
        var items: [(String, String)] = []
        if let text { items.append(("q", text)) }
        if let region { items.append(("region", region)) }
        if let from { items.append(("from", from.text)) }
        if let to { items.append(("to", to.text)) }
        let defaultSort: Sort = text == nil ? .newest : .relevance
        if sort != defaultSort { items.append(("sort", sort.rawValue)) }
        if page > 1 { items.append(("page", String(page))) }
        return items.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    /// What identifies the result set regardless of page and order (the key of the cached count).
    var countKey: String {
        [text ?? "", region ?? "", from?.text ?? "", to?.text ?? ""].joined(separator: "\u{1F}")
    }

    static func encode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: "\u{0}"..."\u{7F}"))
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// A calendar day written `YYYY-MM-DD`, checked to exist, as the instant it starts in UTC.
public struct LibraryDay: Sendable, Equatable {
    /// The text as given.
    public var text: String
    /// Midnight UTC at the start of the day.
    public var start: Date
    /// Midnight UTC at the start of the next day.
    public var end: Date { start.addingTimeInterval(86_400) }

    /// Parses `YYYY-MM-DD` (years 1970 to 9999); nil for anything else, including days that do not exist.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (48...57).contains($0.element) }),
            let year = Int(text.prefix(4)), let month = Int(text.dropFirst(5).prefix(2)),
            let day = Int(text.suffix(2)), (1970...9999).contains(year), (1...12).contains(month), day >= 1
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month
        else { return nil }
        self.text = text
        start = date
    }
}
