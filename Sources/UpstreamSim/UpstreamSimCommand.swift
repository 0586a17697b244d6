import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `upstream-sim`: a local stand-in for the Parallel and Resend APIs.
@main
struct UpstreamSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream-sim",
        abstract: "Local simulator of the Parallel (Task, Events, Groups, Webhooks, Chat, OAuth) and Resend APIs.",
        discussion: """
        Every option can also be set from the environment: SIM_HOST, SIM_PORT, SIM_RESEND_PORT, SIM_TIME_SCALE, SIM_SEED, SIM_API_KEY, SIM_RESEND_API_KEY, SIM_WEBHOOK_SECRET, SIM_WEBHOOK_SECRET_MODE, SIM_STRICT_BETA (1/0), SIM_VALIDATION_ERRORS, SIM_RETRY_AFTER (on/off), SIM_WEBHOOK_MAX_ATTEMPTS, SIM_CHAT_DELAY, SIM_DENY_LIST (comma-separated chat deny-list), SIM_RESEND_RATE_LIMIT, SIM_RESEND_INVALID_KEY. Flags win over the environment. --port 0 / --resend-port 0 pick free ports.

        When both listeners are up, ONE line goes to stdout, "upstream-sim parallel=http://HOST:PORT resend=http://HOST:RPORT", then logs go to stderr. SIGTERM/SIGINT exit cleanly.

        HOSTILE CONTENT (for XSS tests): a run whose metadata has sim_content = "hostile", or whose input contains the marker "sim:hostile", gets report Markdown, progress messages, JSON strings, citation titles/excerpts/URLs with <script>, <img onerror>, javascript: links and "><svg onload> payloads. A chat request whose messages contain "sim:hostile" gets them in its reasoning.

        FAULTS: header "X-Sim-Fault: name[;k=v...]" on one request, run metadata sim_fault (several joined by ','), or POST /__sim/faults {"endpoint":"create|result|events|group_events|group|run|chat|resend|any","fault":"429","count":2, ...params}. Names: 429 (retry_after=s), 5xx|500|502|503|504 (status=, body=json|html|empty), auth|401|402|403, create_timeout (seconds=s, then=respond|close), result_slow (times=n | delay=s), stream_drop (after=k, mode=close|rst), stream_stall (after=k, seconds=s), malformed_event (variant=invalid_json|no_type|unknown_type|unknown_kind|split|crlf|comment|all), stream_error_event (then=continue|fail), run_failed, duration (seconds=simulated s: the run's length, queued for create), early_close_570 (after=simulated s), webhook_duplicate, webhook_bad_signature, webhook_stale (age=s), webhook_out_of_order, webhook_none. Fault durations are real seconds unless noted. See tests/conformance/README.md.

        CONTROL API (both ports): GET /__sim/health, GET|DELETE /__sim/requests (?since=SEQ&path=PREFIX&api=parallel|resend), GET|DELETE /__sim/outbox, GET /__sim/webhooks, GET|POST|DELETE /__sim/faults, POST /__sim/reset, POST /__sim/runs/{id}/cancel|complete|fail.

        OAUTH (Parallel's provider, docs.parallel.ai/integrations/oauth-provider): GET /.well-known/oauth-authorization-server, POST /getKeys/register (optional, as seed 002 does), GET /getKeys/authorize (any host-name client_id or a registered one; scope key:read; auto-approve; deny=1 refuses), POST /getKeys/token (PKCE S256; client_id = the authorising client or the redirect URI's host name). Issued tokens are accepted as API keys.

        REPORTS: text runs end with their own reference section; metadata sim_refs or "sim:refs=<form>" in the input picks its form: numbered, bracket, mdlink, multiline, bare or none (else chosen by the content seed). The text basis lists every site visited. JSON runs sent with parallel-beta field-basis-2025-11-25 get per-element basis entries (key.0, key.1); auto-schema runs get nested dot-path basis fields. Run metadata sim_duration (simulated seconds) overrides a run's duration; sim_event_every (simulated seconds) spaces its progress messages and stats that far apart.
        """)

    @Option(help: "Address to listen on (env SIM_HOST).") var host: String?
    @Option(help: "Parallel API port, 0 = any free port (env SIM_PORT, default 18080).") var port: Int?
    @Option(help: "Resend API port, 0 = any free port (env SIM_RESEND_PORT, default 18081).") var resendPort: Int?
    @Option(help: "Real seconds per simulated second, e.g. 0.02 makes a 60 s run take 1.2 s (env SIM_TIME_SCALE, default 1.0).")
    var timeScale: Double?
    @Option(help: "Seed for the deterministic content generator (env SIM_SEED, default 1).") var seed: UInt64?
    @Option(help: "Accepted Parallel API key (env SIM_API_KEY, default sim-parallel-key). OAuth tokens are accepted too.")
    var apiKey: String?
    @Option(help: "Accepted Resend API key (env SIM_RESEND_API_KEY, default re_sim_key).") var resendApiKey: String?
    @Option(help: "Webhook signing secret (env SIM_WEBHOOK_SECRET, default sim_webhook_secret_123).")
    var webhookSecret: String?
    @Option(help: "raw = HMAC key is the secret's UTF-8 bytes; whsec = base64-decode after 'whsec_' (env SIM_WEBHOOK_SECRET_MODE).")
    var webhookSecretMode: String?
    @Flag(help: "Reject runs with webhook/enable_events but no matching parallel-beta header with 422 (env SIM_STRICT_BETA=1).")
    var strictBeta = false
    @Option(help: "422 body shape: fastapi ({\"detail\":[...]}) or canonical ({\"type\":\"error\",...}) (env SIM_VALIDATION_ERRORS).")
    var validationErrors: String?
    @Option(help: "Send retry-after on injected 429s: on|off (env SIM_RETRY_AFTER, default on).") var retryAfter: String?
    @Option(help: "Maximum webhook delivery attempts (env SIM_WEBHOOK_MAX_ATTEMPTS, default 5).") var webhookMaxAttempts: Int?
    @Option(help: "Simulated seconds a 'speed' chat completion takes (env SIM_CHAT_DELAY, default 2).") var chatDelay: Double?
    @Option(help: "Resend requests per second before 429 rate_limit_exceeded, 0 = off (env SIM_RESEND_RATE_LIMIT, default 5).")
    var resendRateLimit: Int?
    @Option(help: "Answer to an unknown Resend key: current (401 validation_error) or legacy (403 invalid_api_key) (env SIM_RESEND_INVALID_KEY).")
    var resendInvalidKey: String?

    func resolve() throws -> SimConfig {
        let env = ProcessInfo.processInfo.environment
        var c = SimConfig()
        c.host = host ?? env["SIM_HOST"] ?? c.host
        c.port = port ?? env["SIM_PORT"].flatMap { Int($0) } ?? c.port
        c.resendPort = resendPort ?? env["SIM_RESEND_PORT"].flatMap { Int($0) } ?? c.resendPort
        c.timeScale = timeScale ?? env["SIM_TIME_SCALE"].flatMap { Double($0) } ?? c.timeScale
        c.seed = seed ?? env["SIM_SEED"].flatMap { UInt64($0) } ?? c.seed
        c.apiKey = apiKey ?? env["SIM_API_KEY"] ?? c.apiKey
        c.resendAPIKey = resendApiKey ?? env["SIM_RESEND_API_KEY"] ?? c.resendAPIKey
        c.webhookSecret = webhookSecret ?? env["SIM_WEBHOOK_SECRET"] ?? c.webhookSecret
        if let m = webhookSecretMode ?? env["SIM_WEBHOOK_SECRET_MODE"] {
            guard let v = WebhookSecretMode(rawValue: m) else { throw ValidationError("--webhook-secret-mode must be raw or whsec") }
            c.webhookSecretMode = v
        }
        c.strictBeta = strictBeta || ["1", "true", "on"].contains(env["SIM_STRICT_BETA"] ?? "")
        if let v = validationErrors ?? env["SIM_VALIDATION_ERRORS"] {
            guard let s = ValidationErrorShape(rawValue: v) else { throw ValidationError("--validation-errors must be fastapi or canonical") }
            c.validationErrors = s
        }
        if let r = retryAfter ?? env["SIM_RETRY_AFTER"] { c.retryAfter = !["off", "0", "false"].contains(r) }
        c.webhookMaxAttempts = webhookMaxAttempts ?? env["SIM_WEBHOOK_MAX_ATTEMPTS"].flatMap { Int($0) } ?? c.webhookMaxAttempts
        c.chatDelay = chatDelay ?? env["SIM_CHAT_DELAY"].flatMap { Double($0) } ?? c.chatDelay
        c.resendRateLimit = resendRateLimit ?? env["SIM_RESEND_RATE_LIMIT"].flatMap { Int($0) } ?? c.resendRateLimit
        if let v = resendInvalidKey ?? env["SIM_RESEND_INVALID_KEY"] {
            guard let mode = ResendInvalidKey(rawValue: v) else { throw ValidationError("--resend-invalid-key must be current or legacy") }
            c.resendInvalidKey = mode
        }
        if let d = env["SIM_DENY_LIST"] { c.denyList = d.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
        guard c.timeScale > 0 else { throw ValidationError("--time-scale must be > 0") }
        return c
    }

    func run() throws {
        let config = try resolve()
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_BLOCK, &set, nil)

        let sim = Simulator(config: config)
        let parallel = try HTTPServer(host: config.host, port: config.port) { req, conn in sim.handleParallel(req, conn) }
        let resend = try HTTPServer(host: config.host, port: config.resendPort) { req, conn in sim.handleResend(req, conn) }
        sim.parallelBaseURL = "http://\(config.host):\(parallel.port)"
        parallel.start()
        resend.start()
        sim.startEngine()
        let line = "upstream-sim parallel=http://\(config.host):\(parallel.port) resend=http://\(config.host):\(resend.port)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
        simLog("listening; time-scale \(config.timeScale), seed \(config.seed)")
        var sig: Int32 = 0
        sigwait(&set, &sig)
        simLog("signal \(sig): exiting")
        Glibc.exit(0)
    }
}

/// Writes one log line to stderr (never secrets or e-mail addresses).
func simLog(_ message: String) {
    let ts = Timestamp.format(Date())
    FileHandle.standardError.write(Data("\(ts) upstream-sim: \(message)\n".utf8))
}
