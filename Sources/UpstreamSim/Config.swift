import Foundation

/// How the webhook secret becomes the HMAC key.
enum WebhookSecretMode: String, Sendable, CaseIterable {
    /// The UTF-8 bytes of the secret string (Parallel's examples).
    case raw
    /// Standard Webhooks: strip `whsec_` and base64-decode the rest.
    case whsec
}

/// How Resend answers a key it does not know on `POST /emails`.
enum ResendInvalidKey: String, Sendable, CaseIterable {
    /// `401 validation_error` "API key is invalid" (Resend's errors page today).
    case current
    /// `403 invalid_api_key` (the older documentation).
    case legacy
}

/// Which body shape 422 validation errors use.
enum ValidationErrorShape: String, Sendable, CaseIterable {
    case fastapi
    case canonical
}

/// Every simulator setting (CLI flags, each also from `SIM_*` environment variables).
struct SimConfig: Sendable {
    var host = "127.0.0.1"
    var port = 18080
    var resendPort = 18081
    var timeScale = 1.0
    var seed: UInt64 = 1
    var apiKey = "sim-parallel-key"
    var resendAPIKey = "re_sim_key"
    var webhookSecret = "sim_webhook_secret_123"
    var webhookSecretMode = WebhookSecretMode.raw
    var strictBeta = false
    var validationErrors = ValidationErrorShape.fastapi
    var retryAfter = true
    var webhookMaxAttempts = 5
    var chatDelay = 2.0
    /// Resend requests per second before 429 (Resend's default is 5 per team); 0 turns the limit off.
    var resendRateLimit = 5
    var resendInvalidKey = ResendInvalidKey.current
    var denyList = ["test", "testing", "asdf", "qwerty", "foo", "bar", "foobar", "xxx", "abc", "lorem ipsum", "n/a",
                    "none", "null", "hello", "hello world", "aaa", "blah", "nothing", "idk", "whatever"]

    /// Real seconds for a duration in simulated seconds.
    func real(_ simSeconds: Double) -> Double { simSeconds * timeScale }

    /// HMAC key bytes for webhook signatures.
    var webhookKey: [UInt8] {
        switch webhookSecretMode {
        case .raw: return Array(webhookSecret.utf8)
        case .whsec:
            let s = webhookSecret.hasPrefix("whsec_") ? String(webhookSecret.dropFirst(6)) : webhookSecret
            return Data(base64Encoded: s).map { [UInt8]($0) } ?? Array(webhookSecret.utf8)
        }
    }
}
