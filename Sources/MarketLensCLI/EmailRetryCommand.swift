import ArgumentParser
import HTTPClient
import MarketLens
import Postgres

/// `marketlens email retry`: sends unsent e-mail now.
struct EmailRetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Make every unsent e-mail due now and send it.",
        discussion: """
            Messages go out in batches; a batch tried before keeps its key and members, so one the provider already accepted is not sent twice. \
            With --all, messages given up after too many failures are tried again as well.
            """)

    @Flag(help: "Also retry messages that were given up.")
    var all = false

    func run() throws {
        let (configuration, logger) = try CommandEnvironment.load()
        HTTPClient.globalInitialize()
        let connection = try Connection(url: configuration.databaseURL)
        guard let sender = try EmailOutbox.Sender(configuration: configuration, logger: logger) else {
            throw CommandFailure("e-mail is off: set RESEND_API_KEY and MAIL_FROM (messages stay queued)")
        }
        let due = try EmailOutbox.makeDue(all: all, on: connection)
        guard due > 0 else {
            Console.line("No unsent e-mail.")
            return
        }
        let bar = ProgressBar(total: due, label: "Sending")
        var sent = 0, retrying = 0, failed = 0
        while case let attempts = try sender.sendDue(limit: EmailOutbox.messagesPerPass, on: connection),
              !attempts.isEmpty {
            for attempt in attempts {
                switch attempt {
                case .sent: sent += 1
                case .willRetry: retrying += 1
                case .gaveUp: failed += 1
                }
                bar.advance(note: "\(sent) sent")
            }
        }
        bar.finish()
        Console.line("Sent \(sent), to retry later \(retrying), given up \(failed).")
    }
}
