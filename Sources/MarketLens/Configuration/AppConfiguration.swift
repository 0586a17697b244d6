import Foundation

/// Everything Marketlens reads from its environment (product.md §4), validated once at start-up.
/// Secrets are kept here but never appear in `description`.
public struct AppConfiguration: Sendable, CustomStringConvertible {
    public var parallelAPIKey: String?
    public var parallelBaseURL: String
    public var processor: String
    public var validationModel: String
    public var databaseURL: String
    public var resendAPIKey: String?
    public var resendBaseURL: String
    public var mailFrom: String?
    public var baseURL: String
    public var webhookSecret: String?
    public var maxReportsPerHour: Int
    public var maxReportsPerClientPerHour: Int
    /// Batch runs (one per screened domain) per hour, for everyone and per client.
    public var maxBatchRunsPerHour: Int
    public var maxBatchRunsPerClientPerHour: Int
    /// Chat API validation calls per client and hour (`MAX_VALIDATION_CHECKS_PER_CLIENT_PER_HOUR`; cache hits
    /// are free): each is a paid call, so an address cannot make the site spend without bound.
    public var maxValidationChecksPerClientPerHour: Int
    /// Days after which anyone (not only its owner) may refresh a report family whose newest version is that
    /// old (`MARKETLENS_REFRESH_AFTER_DAYS`; 0: anyone, at any time).
    public var refreshAfterDays: Int
    public var workers: Int
    public var threads: Int
    /// The PostgreSQL connections a worker can ever open, and their sum over the workers (`marketlens doctor`).
    public var connections: ConnectionBudget
    public var httpsPort: Int
    public var httpPort: Int
    /// Project root holding `templates/` and `migrations/`.
    public var root: String
    /// Directory for the worker sockets (`worker-N.sock`).
    public var socketDirectory: String
    public var logLevel: String
    /// `text` (swift-log's default lines) or `json` (one object per line for log shippers; `LOG_FORMAT`).
    public var logFormat: String
    /// Monitoring thread, e-mail outbox and webhook tunables (`MARKETLENS_LEASE_SECONDS`, … see MonitorSettings).
    public var monitor: MonitorSettings
    /// The OAuth authorisation server of the task console (`CONSOLE_OAUTH_ISSUER`). Default: Parallel's platform
    /// when `PARALLEL_BASE_URL` is Parallel's API, else the base URL itself (upstream-sim serves both).
    public var consoleOAuthIssuer: String

    /// The templates directory under the project root.
    public var templatesDirectory: String { root + "/templates" }
    /// The API's OpenAPI document, served at `/api/v1/openapi.json` and rendered at `/api` (one file, no copy).
    public var apiDocumentPath: String { root + "/api/openapi.json" }
    /// The migrations directory (overridable with `MARKETLENS_MIGRATIONS`).
    public var migrationsDirectory: String

    /// True when no Parallel key is configured: the stack talks to `upstream-sim`.
    public var isOffline: Bool { parallelAPIKey == nil }
    /// The key `upstream-sim` accepts by default (its `--api-key`); not a secret.
    public static let offlineSimulatorKey = "sim-parallel-key"
    /// The key to send to `parallelBaseURL`: the configured one, or in offline mode the simulator's.
    public var parallelKeyForRequests: String { parallelAPIKey ?? Self.offlineSimulatorKey }
    /// Total time the Chat API validation may take before a request is refused with 503 (product.md §7.1).
    /// Not read from the environment; tests shorten it.
    public var validationTimeout: Double = 8
    /// True when e-mail can be sent.
    public var isEmailEnabled: Bool { resendAPIKey != nil && mailFrom != nil }

    /// Reads the configuration from `environment`, reporting the first invalid variable.
    public init(environment: [String: String]) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment)
        parallelAPIKey = reader.nonEmpty("PARALLEL_API_KEY")
        parallelBaseURL = try reader.url("PARALLEL_BASE_URL", default: "https://api.parallel.ai")
        processor = try reader.choice("MARKETLENS_PROCESSOR", default: "ultra2x", allowed: Self.processors)
        validationModel = reader.nonEmpty("MARKETLENS_VALIDATION_MODEL") ?? "speed"
        databaseURL = reader.nonEmpty("DATABASE_URL") ?? "postgresql://marketlens@127.0.0.1:5432/marketlens"
        resendAPIKey = reader.nonEmpty("RESEND_API_KEY")
        resendBaseURL = try reader.url("RESEND_BASE_URL", default: "https://api.resend.com")
        mailFrom = reader.nonEmpty("MAIL_FROM")
        if parallelAPIKey == nil, resendAPIKey == nil, reader.nonEmpty("RESEND_BASE_URL") != nil {
            // Offline mode with a Resend URL (upstream-sim's Resend port): use the simulator's key and a sender.
            resendAPIKey = "re_sim_key"
            mailFrom = mailFrom ?? "Marketlens <reports@marketlens.invalid>"
        }
        baseURL = try reader.url("BASE_URL", default: "https://localhost:8443")
        webhookSecret = reader.nonEmpty("PARALLEL_WEBHOOK_SECRET")
        maxReportsPerHour = try reader.integer("MAX_REPORTS_PER_HOUR", default: 100, range: 0...1_000_000)
        maxReportsPerClientPerHour = try reader.integer(
            "MAX_REPORTS_PER_CLIENT_PER_HOUR", default: 5, range: 0...1_000_000)
        maxBatchRunsPerHour = try reader.integer("MAX_BATCH_RUNS_PER_HOUR", default: 2_000, range: 0...10_000_000)
        maxBatchRunsPerClientPerHour = try reader.integer(
            "MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR", default: 400, range: 0...10_000_000)
        maxValidationChecksPerClientPerHour = try reader.integer(
            "MAX_VALIDATION_CHECKS_PER_CLIENT_PER_HOUR", default: 120, range: 0...1_000_000)
        refreshAfterDays = try reader.integer("MARKETLENS_REFRESH_AFTER_DAYS", default: 30, range: 0...3650)
        workers = try reader.integer("MARKETLENS_WORKERS", default: 2, range: 1...64)
        threads = try reader.integer("MARKETLENS_THREADS", default: 32, range: 1...4096)
        connections = try ConnectionBudget(reader: reader, threads: threads, workers: workers)
        httpsPort = try reader.integer("HTTPS_PORT", default: 8443, range: 1...65535)
        httpPort = try reader.integer("HTTP_PORT", default: 8080, range: 1...65535)
        root = reader.nonEmpty("MARKETLENS_ROOT") ?? FileManager.default.currentDirectoryPath
        socketDirectory = reader.nonEmpty("MARKETLENS_SOCKET_DIR") ?? root + "/.run/sockets"
        migrationsDirectory = reader.nonEmpty("MARKETLENS_MIGRATIONS") ?? root + "/migrations"
        consoleOAuthIssuer = try reader.url(
            "CONSOLE_OAUTH_ISSUER",
            default: parallelBaseURL.hasPrefix("https://api.parallel.ai") ? "https://platform.parallel.ai" : parallelBaseURL)
        logLevel = try reader.choice(
            "LOG_LEVEL", default: "info", allowed: ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        logFormat = try reader.choice("LOG_FORMAT", default: "text", allowed: ["text", "json"])
        monitor = try MonitorSettings(reader: reader)
    }

    /// Every processor Parallel offers, with the `-fast` variants.
    public static let processors: [String] = {
        let base = ["lite", "base", "core", "core2x", "pro", "ultra", "ultra2x", "ultra4x", "ultra8x"]
        return base + base.map { $0 + "-fast" }
    }()

    public var description: String {
        """
        parallel=\(isOffline ? "offline (upstream-sim)" : "configured") base=\(Self.origin(of: parallelBaseURL)) \
        processor=\(processor) email=\(isEmailEnabled ? "on" : "off") workers=\(workers) threads=\(threads) \
        db_connections_per_worker=\(connections.perWorker) \
        database=\(Self.redactedDatabaseURL(databaseURL))
        """
    }

    /// The URL without user info, path or query: safe to log.
    static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "?" }
        return "\(components.scheme ?? "?")://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }

    /// A database URL with any password removed, safe to log.
    public static func redactedDatabaseURL(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparseable)" }
        if components.password != nil { components.password = "***" }
        components.query = nil
        return components.string ?? "(unparseable)"
    }
}

/// A configuration variable with an unusable value.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var variable: String
    public var problem: String
    public var description: String { "\(variable): \(problem)" }
}
