import Foundation
public import Logging
public import ParallelAPI
public import Postgres

/// The Chat API's judgement of a request (upstream-api.md §6), as cached and shown.
public struct ValidationVerdict: Sendable, Equatable, Codable {
    public var isValid: Bool
    /// One sentence for the visitor (already cleaned and length-limited; escape it on output like any text).
    public var reasoning: String
    public var issuesFound: [String]

    /// Creates a verdict.
    public init(isValid: Bool, reasoning: String, issuesFound: [String]) {
        self.isValid = isValid
        self.reasoning = reasoning
        self.issuesFound = issuesFound
    }

    enum CodingKeys: String, CodingKey {
        case isValid = "is_valid", reasoning, issuesFound = "issues_found"
    }

    /// Reads the schema answer; nil when it lacks the verdict (which must never be taken as a yes).
    static func parse(_ value: JSONValue) -> ValidationVerdict? {
        guard let isValid = value["is_valid"]?.boolValue else { return nil }
        let reasoning = TextNormalizer.singleLine(value["reasoning"]?.stringValue ?? "")
        let issues = (value["issues_found"]?.arrayValue ?? []).compactMap(\.stringValue)
            .map { clip(TextNormalizer.singleLine($0), to: 200) }.filter { !$0.isEmpty }
        return ValidationVerdict(isValid: isValid, reasoning: clip(reasoning, to: 500), issuesFound: Array(issues.prefix(5)))
    }

    /// The message to show when the request was refused.
    public var refusalMessage: String {
        let reason = reasoning.isEmpty ? issuesFound.first ?? "" : reasoning
        return reason.isEmpty
            ? "This does not look like a market we can research. Please describe a real industry or market."
            : "This does not look like a market we can research: \(reason)"
    }

    static func clip(_ text: String, to limit: Int) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > limit else { return text }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.prefix(limit - 1))
        return String(view) + "…"
    }
}

/// Why the Chat check could not give a verdict; the request is then refused (never accepted unchecked).
public struct InputCheckUnavailable: Error, Sendable, CustomStringConvertible {
    /// Safe to log: the kind of failure, no request data.
    public var reason: String
    /// Seconds a client should wait before trying again.
    public static let retryAfter = 60
    /// The sentence for the visitor.
    public static let message = "Our research checker is unavailable, please try again in a minute."
    public var description: String { "validation unavailable: \(reason)" }
}

/// Asks the Chat API whether a request names a researchable market, with verdicts cached in
/// `validation_cache` (valid and invalid alike) so a repeated request costs nothing.
public struct InputChecker {
    /// The Chat model (`MARKETLENS_VALIDATION_MODEL`).
    public var model: String
    /// Total time allowed for the chat call; beyond it the check is unavailable.
    public var timeout: Double
    /// How long a cached verdict is trusted.
    public var cacheTTLSeconds: Int = 7 * 24 * 3600
    public var logger: Logger

    /// Creates a checker.
    public init(model: String, timeout: Double, logger: Logger) {
        self.model = model
        self.timeout = timeout
        self.logger = logger
    }

    /// The verdict on `request` and whether it came from the cache. `beforeChat` runs only when the Chat API is
    /// about to be called (a cache miss): it may throw to refuse the call (a rate limit).
    public func verdict(
        for request: ResearchRequest, connection: Connection, client: () throws -> ParallelClient,
        beforeChat: () throws -> Void = {}
    ) throws -> (verdict: ValidationVerdict, cached: Bool) {
        let key = try cacheKey(for: request, on: connection)
        if let cached = try cachedVerdict(key: key, on: connection) { return (cached, true) }
        try beforeChat()
        let chatClient: ParallelClient
        do {
            chatClient = try client()
        } catch {
            throw InputCheckUnavailable(reason: "no client: \(error)")
        }
        let verdict = try askChat(request, client: chatClient)
        try connection.execute(
            """
            INSERT INTO validation_cache (key_hash, verdict) VALUES (\(key), \(try PostgresJSON(encoding: verdict)))
            ON CONFLICT (key_hash) DO UPDATE SET verdict = EXCLUDED.verdict, created_at = now()
            """)
        return (verdict, false)
    }

    /// The cache key: the model and the request's normalised text (the same case- and space-insensitive key
    /// the identical-report lookup uses), hashed.
    func cacheKey(for request: ResearchRequest, on connection: Connection) throws -> String {
        let row = try connection.queryFirst(
            """
            SELECT 'v1:' || md5(\(model) || chr(31) || report_request_key(\(request.industry), \(request.region),
                                                                           \(request.focus))) AS key
            """)
        guard let key = try row?.string("key") else { throw InputCheckUnavailable(reason: "no cache key") }
        return key
    }

    func cachedVerdict(key: String, on connection: Connection) throws -> ValidationVerdict? {
        let row = try connection.queryFirst(
            """
            SELECT verdict FROM validation_cache
            WHERE key_hash = \(key) AND created_at > now() - \(cacheTTLSeconds) * interval '1 second'
            """)
        guard let row else { return nil }
        return try? row.json("verdict").decode(ValidationVerdict.self)
    }

    /// One chat completion, no retries (the visitor is waiting), the JSON-schema answer parsed twice.
    func askChat(_ request: ResearchRequest, client: ParallelClient) throws -> ValidationVerdict {
        let body = ChatCompletionRequest(
            model: model,
            messages: [
                ChatMessage(role: "system", content: ResearchPrompt.validationSystemMessage),
                ChatMessage(role: "user", content: ResearchPrompt.validationUserMessage(request)),
            ],
            responseFormat: .jsonSchema(name: "validation", schema: Self.schema, strict: true))
        let started = ContinuousClock.now
        do {
            let answer = try client.chatCompletion(body, timeout: timeout, maxRetries: 0)
            guard let verdict = ValidationVerdict.parse(try answer.contentJSON()) else {
                throw InputCheckUnavailable(reason: "answer without is_valid")
            }
            logger.info("input checked", metadata: [
                "valid": "\(verdict.isValid)", "elapsed": "\(started.duration(to: .now))",
            ])
            return verdict
        } catch let error as ParallelError {
            logger.warning("input check unavailable", metadata: ["error": "\(error)"])
            throw InputCheckUnavailable(reason: "\(error)")
        }
    }

    /// `{is_valid, reasoning, issues_found}`, all required, nothing else.
    static let schema: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "properties": [
            "is_valid": ["type": "boolean"],
            "reasoning": ["type": "string"],
            "issues_found": ["type": "array", "items": ["type": "string"]],
        ],
        "required": ["is_valid", "reasoning", "issues_found"],
    ]
}
