import ArgumentParser
import Foundation
import HTTPClient
import MarketLens
import Postgres

/// `marketlens runs resume`: finishes active runs that no worker follows (leases absent or expired).
struct RunsResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Complete or fail orphaned active runs by asking Parallel for their state and result.",
        discussion: """
            Without --report, every queued or running report whose lease is absent or expired is checked; with \
            --report, only that one (even if a worker holds it: finishing is idempotent). Runs still active \
            upstream are left to the monitor unless --wait gives them time to finish.
            """)

    @Option(help: "Only this report (public id, e.g. rpt_…).")
    var report: String?

    @Option(help: "Seconds to keep polling runs that are still active upstream.")
    var wait: Double = 0

    func run() throws {
        let (configuration, logger) = try CommandEnvironment.load()
        HTTPClient.globalInitialize()
        let connection = try Connection(url: configuration.databaseURL)
        let completion = ReportCompletion(
            baseURL: configuration.baseURL, renderer: try PageRenderer(directory: configuration.templatesDirectory))
        var bar: ProgressBar?
        let results = try RunMaintenance.resume(
            publicID: report, wait: wait, configuration: configuration, completion: completion, logger: logger,
            on: connection
        ) { total, resumed in
            if bar == nil { bar = ProgressBar(total: total, label: "Resuming") }
            bar?.advance(note: "\(resumed.publicID): \(resumed.result)")
        }
        bar?.finish()
        if results.isEmpty {
            Console.line(report == nil ? "No orphaned active runs." : "That report is not an active run.")
            return
        }
        Console.table(["report", "result"], results.map { [$0.publicID, $0.result] })
    }
}
