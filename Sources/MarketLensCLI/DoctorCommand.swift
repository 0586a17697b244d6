import ArgumentParser
import Foundation
import HTTPClient
import MarketLens
import Migrations
import Postgres

/// `marketlens doctor`: checks the configuration, database, migrations, templates, upstream and nginx config.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check configuration, database, migrations, connection budget, templates, upstream and the nginx config.",
        discussion: "Prints one line per check; exits non-zero if any check fails.")

    @Option(name: .long, help: "Rendered nginx config to test with `nginx -t` (default .run/nginx/nginx.conf if present).")
    var nginxConfig: String?

    func run() throws {
        let (configuration, _) = try CommandEnvironment.load()
        var failures = 0
        func check(_ name: String, _ body: () throws -> String) {
            do {
                Console.line("ok    \(name): \(try body())")
            } catch {
                failures += 1
                Console.line("FAIL  \(name): \(error)")
            }
        }
        check("configuration") { configuration.description }
        check("templates") {
            _ = try PageRenderer(directory: configuration.templatesDirectory)
            return configuration.templatesDirectory
        }
        check("database") {
            let connection = try Connection(url: configuration.databaseURL)
            let status = try Migrator(directory: configuration.migrationsDirectory).status(on: connection)
            try MigrationReport.refuseTampering(status)
            if !status.pending.isEmpty { throw CommandFailure("\(status.pending.count) migration(s) pending: run `marketlens migrate`") }
            return "reachable, \(status.applied.count) migration(s) applied"
        }
        check("connection budget") { try Self.connectionBudget(configuration.connections, url: configuration.databaseURL) }
        check("parallel upstream") { try Self.reachable(configuration.parallelBaseURL) }
        if configuration.isEmailEnabled {
            check("resend upstream") { try Self.reachable(configuration.resendBaseURL) }
        }
        let nginxPath = nginxConfig ?? configuration.root + "/.run/nginx/nginx.conf"
        if FileManager.default.fileExists(atPath: nginxPath) {
            check("nginx config") { try Self.nginxTest(nginxPath) }
        } else {
            Console.line("skip  nginx config: \(nginxPath) not rendered yet (make up renders it)")
        }
        if failures > 0 { throw CommandFailure("\(failures) check(s) failed") }
    }

    /// The workers' connections (each worker's fixed budget × `MARKETLENS_WORKERS`, plus the CLI's headroom)
    /// against what the server allows; fails when they do not fit, since the last ones would be refused with
    /// `too many clients already` under load.
    static func connectionBudget(_ budget: ConnectionBudget, url: String) throws -> String {
        let server = try ServerConnectionLimit.read(on: try Connection(url: url))
        guard budget.fits(in: server) else {
            throw CommandFailure(
                "\(budget) connections needed, but the server allows \(server): lower MARKETLENS_WORKERS or "
                    + "MARKETLENS_DB_CONNECTIONS, or raise max_connections to at least \(budget.total + server.reserved)")
        }
        return "\(budget); the server allows \(server)"
    }

    /// Any HTTP answer counts as reachable: authentication is not what is being checked here.
    static func reachable(_ base: String) throws -> String {
        HTTPClient.globalInitialize()
        let response = try HTTPClient().send(HTTPRequest(url: base + "/", timeout: 10, connectTimeout: 5))
        return "reachable (HTTP \(response.status))"
    }

    static func nginxTest(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        let prefix = URL(fileURLWithPath: path).deletingLastPathComponent().path
        process.arguments = ["-t", "-q", "-p", prefix, "-c", path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CommandFailure(output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return "\(path) is valid"
    }
}
