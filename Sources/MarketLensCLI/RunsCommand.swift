import ArgumentParser

/// `marketlens runs`: repair upstream runs without a web server.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Finish orphaned runs or retry failed ones.",
        subcommands: [RunsResumeCommand.self, RunsRetryCommand.self])
}
