import ArgumentParser
import HTTPClient
import MarketLens
import Postgres

/// `marketlens runs retry`: starts a failed report again as a new report.
struct RunsRetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Retry a failed or cancelled report as a new report with the same request.",
        discussion: """
            The failed report stays as it is (its page keeps explaining why it failed); a new report with the same \
            industry, region, focus, processor, visibility and e-mail is created and its run started at once. The \
            new report's id is printed.
            """)

    @Argument(help: "The failed report's public id (rpt_…).")
    var reportID: String

    func run() throws {
        let (configuration, logger) = try CommandEnvironment.load()
        HTTPClient.globalInitialize()
        let connection = try Connection(url: configuration.databaseURL)
        do {
            let newID = try RunMaintenance.retry(publicID: reportID, configuration: configuration, logger: logger,
                                                 on: connection)
            Console.line("Retrying as \(newID): \(configuration.baseURL)/reports/\(newID)")
        } catch let error as RunMaintenanceError {
            throw CommandFailure(error.description)
        }
    }
}
