import ArgumentParser

/// `marketlens email`: the e-mail outbox.
struct EmailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "email",
        abstract: "Work with the e-mail outbox.",
        subcommands: [EmailRetryCommand.self])
}
