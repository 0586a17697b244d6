import ArgumentParser
import MarketLens
import Postgres

/// `marketlens prune`: deletes old operational data.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete old report events, rate-limit windows, validation verdicts and webhook ids; erase old e-mail addresses.",
        discussion: """
            Only the parts named are pruned. Events of reports still running are always kept. Destructive: \
            requires --yes.
            """)

    @Option(help: "Delete events of finished reports older than this (e.g. 90d, 12h).")
    var eventsOlderThan: String?

    @Flag(help: "Delete rate-limit windows older than a day.")
    var rateLimits = false

    @Flag(help: "Delete validation verdicts older than a week.")
    var validationCache = false

    @Flag(help: "Delete remembered webhook ids older than a week.")
    var webhookDeliveries = false

    @Flag(help: "Erase e-mail addresses (reports and outbox) sent more than MARKETLENS_EMAIL_RETENTION_DAYS ago, and Idempotency-Keys older than 24 h.")
    var emails = false

    @Flag(help: "Confirm the deletion.")
    var yes = false

    func validate() throws {
        if let eventsOlderThan, Pruning.parseAge(eventsOlderThan) == nil {
            throw ValidationError("--events-older-than must look like 90d, 12h, 30m or 45s")
        }
        if eventsOlderThan == nil && !rateLimits && !validationCache && !webhookDeliveries && !emails {
            throw ValidationError("name what to prune: --events-older-than, --rate-limits, --validation-cache, --webhook-deliveries, --emails")
        }
        if !yes { throw ValidationError("prune deletes data: add --yes to confirm") }
    }

    func run() throws {
        let (configuration, _) = try CommandEnvironment.load()
        let connection = try Connection(url: configuration.databaseURL)
        let counts = try Pruning.prune(
            eventsOlderThan: eventsOlderThan.flatMap(Pruning.parseAge), rateLimits: rateLimits,
            validationCache: validationCache, webhookDeliveries: webhookDeliveries, on: connection)
        let erased = emails
            ? try AddressErasure.run(days: configuration.monitor.emailRetentionDays, on: connection) : nil
        Console.table(["pruned", "rows"], [
            ["e-mail addresses (reports)", erased.map { String($0.reports) } ?? "-"],
            ["e-mail addresses (outbox)", erased.map { String($0.emails) } ?? "-"],
            ["idempotency keys", erased.map { String($0.idempotencyKeys) } ?? "-"],
            ["report events", eventsOlderThan == nil ? "-" : String(counts.events)],
            ["rate-limit windows", rateLimits ? String(counts.rateLimits) : "-"],
            ["validation verdicts", validationCache ? String(counts.validationCache) : "-"],
            ["webhook ids", webhookDeliveries ? String(counts.webhookDeliveries) : "-"],
        ])
    }
}
