import ArgumentParser

/// `marketlens`: the server and the operator's admin CLI in one executable.
@main
struct MarketLensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marketlens",
        abstract: "Marketlens: self-hosted, cited market research on Parallel.",
        discussion: """
            Configuration comes from environment variables, optionally from a .env file in the working \
            directory (see README.md). Run `marketlens <command> --help` for each command.
            """,
        subcommands: [
            ServeCommand.self, ServeWorkerCommand.self, MigrateCommand.self, StatusCommand.self, DoctorCommand.self,
            RunsCommand.self, EmailCommand.self, PruneCommand.self,
            ReportsCommand.self, APIKeysCommand.self, ExportCommand.self, ImportCommand.self, BenchSeedCommand.self,
        ])
}
