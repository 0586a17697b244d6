/// Where and how to reach Parallel. `description` never shows the API key.
public struct ParallelConfiguration: Sendable, CustomStringConvertible {
    /// `https://api.parallel.ai`, or the simulator.
    public var baseURL: String
    /// Sent as `x-api-key` (Task/Groups/Events) or `Authorization: Bearer` (Chat).
    public var apiKey: String
    /// libcurl connect timeout, seconds.
    public var connectTimeout: Double
    /// Total timeout of plain JSON calls (status, input, group calls), seconds.
    public var requestTimeout: Double
    /// Total timeout of a create call; past it the create is reported as uncertain.
    public var createTimeout: Double
    /// Total timeout of a chat completion (the validator wants a short one).
    public var chatTimeout: Double
    /// A stream with no bytes for this long is considered stalled (no heartbeats upstream, so keep it ≥ 300 s live).
    public var streamIdleTimeout: Double
    /// Retry decisions and delays.
    public var retryPolicy: RetryPolicy
    /// Beta names joined into `parallel-beta` on create, add-runs and event streams (webhook beta is added on demand).
    public var betas: [String]
    /// Path of the chat endpoint under `baseURL`.
    public var chatPath: String
    /// `User-Agent` header.
    public var userAgent: String

    /// The beta the run events stream needs.
    public static let eventsBeta = "events-sse-2025-07-24"
    /// The beta a `webhook` field needs.
    public static let webhookBeta = "webhook-2025-08-12"

    /// Creates a configuration with the documented defaults.
    public init(baseURL: String = "https://api.parallel.ai", apiKey: String, connectTimeout: Double = 10,
                requestTimeout: Double = 60, createTimeout: Double = 60, chatTimeout: Double = 30,
                streamIdleTimeout: Double = 300, retryPolicy: RetryPolicy = RetryPolicy(),
                betas: [String] = [ParallelConfiguration.eventsBeta], chatPath: String = "/chat/completions",
                userAgent: String = "marketlens-parallel/1") {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.createTimeout = createTimeout
        self.chatTimeout = chatTimeout
        self.streamIdleTimeout = streamIdleTimeout
        self.retryPolicy = retryPolicy
        self.betas = betas
        self.chatPath = chatPath
        self.userAgent = userAgent
    }

    public var description: String {
        "ParallelConfiguration(baseURL: \(baseURL), apiKey: [redacted], createTimeout: \(createTimeout))"
    }
}
