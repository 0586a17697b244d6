import Foundation
import Logging
import MarketLens

/// What every command needs first: the configuration (environment over `.env`) and logging set up once.
enum CommandEnvironment {
    /// Loads and validates the configuration, bootstrapping logging at its level; exits with a clear message
    /// naming the bad variable when it is invalid.
    static func load(label: String = "marketlens") throws -> (AppConfiguration, Logger) {
        let environment = EnvironmentFile.merged(
            processEnvironment: ProcessInfo.processInfo.environment,
            path: FileManager.default.currentDirectoryPath + "/.env")
        let configuration: AppConfiguration
        do {
            configuration = try AppConfiguration(environment: environment)
        } catch {
            throw CommandFailure("configuration error: \(error)")
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        let json = configuration.logFormat == "json"
        LoggingSystem.bootstrap { name in
            if json {
                var handler = JSONLogHandler(label: name)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: name)
            handler.logLevel = level
            return handler
        }
        return (configuration, Logger(label: label))
    }
}

/// A command that failed with a message for the operator (printed without a stack trace, exit code 1).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
