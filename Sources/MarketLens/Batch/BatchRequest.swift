import Foundation
import ParallelAPI
public import Web

/// How broad each domain's research is (seed 001 `search_depth`), and the Parallel processor it maps to.
public enum SearchDepth: String, Sendable, CaseIterable {
    case quick, standard, comprehensive

    /// quick → `base` (seconds to a minute, a handful of fields), standard → `core` (the balanced tier),
    /// comprehensive → `pro` (deep research, more sources, events on by default). See README "Batch screening".
    public var processor: String {
        switch self {
        case .quick: "base"
        case .standard: "core"
        case .comprehensive: "pro"
        }
    }
}

/// A validated batch screening request (the body of `POST /research/batch/stream` and `POST /research/batch`).
public struct BatchRequest: Sendable, Equatable {
    /// The research objective, trimmed, 1–2,000 characters.
    public var researchGoal: String
    /// Distinct normalised domains (lower case, no scheme, path or port), in request order, 1–200.
    public var companyDomains: [String]
    /// quick, standard or comprehensive.
    public var searchDepth: SearchDepth
    /// At most this many runs are active at once (5–50).
    public var maxParallelSearches: Int
    /// Results at or above this confidence are "high confidence" (0–1).
    public var confidenceThreshold: Double
    /// Listed on `/batch` (`public`) or reachable only by its link (`unlisted`, the default: a research goal
    /// and a list of domains are often private). Optional in the body, so seed 001 clients need not send it.
    public var visibility: ResearchRequest.Visibility

    /// Limits of the seed and of this service.
    public static let maxGoalLength = 2_000
    public static let maxDomains = 200
    public static let parallelRange = 5...50

    /// Creates a request from already valid values.
    public init(researchGoal: String, companyDomains: [String], searchDepth: SearchDepth, maxParallelSearches: Int,
                confidenceThreshold: Double, visibility: ResearchRequest.Visibility = .unlisted) {
        self.visibility = visibility
        self.researchGoal = researchGoal
        self.companyDomains = companyDomains
        self.searchDepth = searchDepth
        self.maxParallelSearches = maxParallelSearches
        self.confidenceThreshold = confidenceThreshold
    }

    /// Parses and validates a JSON body; every bad field is named in one 422 (`fields`), so a client can fix
    /// them all at once. Nothing is created before this succeeds.
    public static func parse(json body: [UInt8]) throws(HTTPError) -> BatchRequest {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw HTTPError.unprocessable(fields: ["body": "must be a JSON object"], message: "The body is not valid JSON.")
        }
        guard case .object(let members) = root else {
            throw HTTPError.unprocessable(fields: ["body": "must be a JSON object"])
        }
        var fields: [String: String] = [:]
        let goal = parseGoal(members["research_goal"], into: &fields)
        let domains = parseDomains(members["company_domains"], into: &fields)
        let depth = parseDepth(members["search_depth"], into: &fields)
        let parallel = parseParallel(members["max_parallel_searches"], into: &fields)
        let threshold = parseThreshold(members["confidence_threshold"], into: &fields)
        let visibility = parseVisibility(members["visibility"], into: &fields)
        guard fields.isEmpty, let goal, let domains, let depth, let parallel, let threshold, let visibility else {
            throw HTTPError.unprocessable(fields: fields)
        }
        return BatchRequest(researchGoal: goal, companyDomains: domains, searchDepth: depth,
                            maxParallelSearches: parallel, confidenceThreshold: threshold, visibility: visibility)
    }

    /// Absent or null → unlisted; otherwise `"public"` or `"unlisted"`.
    private static func parseVisibility(_ value: JSONValue?, into fields: inout [String: String])
        -> ResearchRequest.Visibility?
    {
        guard let value, value != .null else { return .unlisted }
        guard case .string(let text) = value, let visibility = ResearchRequest.Visibility(rawValue: text) else {
            fields["visibility"] = #"must be "public" or "unlisted""#
            return nil
        }
        return visibility
    }

    private static func parseGoal(_ value: JSONValue?, into fields: inout [String: String]) -> String? {
        guard let value, value != .null else {
            fields["research_goal"] = "is required"
            return nil
        }
        guard case .string(let raw) = value else {
            fields["research_goal"] = "must be a string"
            return nil
        }
        let goal = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if goal.isEmpty {
            fields["research_goal"] = "must not be empty"
        } else if goal.count > maxGoalLength {
            fields["research_goal"] = "must be at most \(maxGoalLength) characters"
        } else if goal.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !"\n\r\t".unicodeScalars.contains($0) }) {
            fields["research_goal"] = "must not contain control characters"
        } else {
            return goal
        }
        return nil
    }

    private static func parseDomains(_ value: JSONValue?, into fields: inout [String: String]) -> [String]? {
        guard let value, value != .null else {
            fields["company_domains"] = "is required"
            return nil
        }
        guard case .array(let items) = value else {
            fields["company_domains"] = "must be an array of domain names"
            return nil
        }
        guard !items.isEmpty else {
            fields["company_domains"] = "must list at least one domain"
            return nil
        }
        guard items.count <= maxDomains else {
            fields["company_domains"] = "must list at most \(maxDomains) domains"
            return nil
        }
        var seen = Set<String>()
        var domains: [String] = []
        var bad = false
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item, let domain = DomainName.normalise(text) else {
                fields["company_domains[\(index)]"] = "must be a domain name such as example.com"
                bad = true
                continue
            }
            if seen.insert(domain).inserted { domains.append(domain) }
        }
        if bad {
            fields["company_domains"] = "contains invalid domain names"
            return nil
        }
        return domains
    }

    private static func parseDepth(_ value: JSONValue?, into fields: inout [String: String]) -> SearchDepth? {
        guard let value, value != .null else {
            fields["search_depth"] = "is required"
            return nil
        }
        guard case .string(let text) = value, let depth = SearchDepth(rawValue: text) else {
            fields["search_depth"] = "must be one of quick, standard, comprehensive"
            return nil
        }
        return depth
    }

    private static func parseParallel(_ value: JSONValue?, into fields: inout [String: String]) -> Int? {
        let message = "must be an integer from \(parallelRange.lowerBound) to \(parallelRange.upperBound)"
        switch value {
        case nil, .null?:
            fields["max_parallel_searches"] = "is required"
        case .integer(let number)? where parallelRange.contains(number):
            return number
        case .number(let number)? where number.rounded() == number && Double(parallelRange.lowerBound)...Double(parallelRange.upperBound) ~= number:
            return Int(number)
        default:
            fields["max_parallel_searches"] = message
        }
        return nil
    }

    private static func parseThreshold(_ value: JSONValue?, into fields: inout [String: String]) -> Double? {
        let number: Double
        switch value {
        case nil, .null?:
            fields["confidence_threshold"] = "is required"
            return nil
        case .integer(let whole)?: number = Double(whole)
        case .number(let fraction)?: number = fraction
        default:
            fields["confidence_threshold"] = "must be a number from 0 to 1"
            return nil
        }
        guard number.isFinite, (0...1).contains(number) else {
            fields["confidence_threshold"] = "must be a number from 0 to 1"
            return nil
        }
        return number
    }
}

/// Domain names as the batch API accepts them.
public enum DomainName {
    /// `https://WWW.Stripe.com/pricing?x` → `www.stripe.com`. Nil for anything that is not a plain DNS name
    /// (other schemes such as `javascript:`, user info, ports, IP addresses, bad labels, over 253 characters).
    public static func normalise(_ text: String) -> String? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces).lowercased())
        guard !rest.isEmpty, rest.utf8.count <= 2_048 else { return nil }
        for scheme in ["https://", "http://"] where rest.hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
        }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if rest.hasSuffix(".") { rest = rest.dropLast() }
        let host = String(rest)
        guard !host.isEmpty, host.utf8.count <= 253 else { return nil }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return nil }
        for label in labels {
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count),
                  bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }),
                  bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-")
            else { return nil }
        }
        // The top-level label is letters (or an IDN `xn--` label), which also rules out IPv4 addresses.
        guard let tld = labels.last, tld.hasPrefix("xn--") || tld.utf8.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else {
            return nil
        }
        return host
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
    }
}
