import ArgumentParser
import Foundation
import MarketLens

/// `marketlens apikeys create|list|revoke`: API keys for developers (issue 14). A key is printed once, by
/// `create`, and stored only as its SHA-256; nothing else ever shows it again.
struct APIKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikeys",
        abstract: "Create, list and revoke API keys (Authorization: Bearer <key> on /api/v1/… and /research/batch*).",
        discussion: """
            A request with a valid key is limited by the key's own hourly limits instead of its client address's \
            (MAX_REPORTS_PER_CLIENT_PER_HOUR, MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR); the global limits still hold. \
            An invalid or revoked key is answered 401 invalid_api_key. Logs show the key's name, never the key.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it once (it cannot be shown again: only its hash is stored).")

        @Option(help: "Who the key is for (unique, 1 to 64 characters); shown in logs instead of the key.")
        var name: String

        @Option(help: "Reports the key may create per hour.")
        var reportsPerHour: Int

        @Option(help: "Batch runs (one per company domain) the key may start per hour.")
        var batchesPerHour: Int

        func validate() throws {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard (1...64).contains(trimmed.count), trimmed == name,
                  !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { throw ValidationError("--name must be 1 to 64 characters without surrounding spaces") }
            guard reportsPerHour >= 0 else { throw ValidationError("--reports-per-hour must be 0 or more") }
            guard batchesPerHour >= 0 else { throw ValidationError("--batches-per-hour must be 0 or more") }
        }

        func run() throws {
            let connection = try ReportsCommand.connect()
            let (key, secret): (APIKey, APIKeySecret)
            do {
                (key, secret) = try APIKeyStore.create(
                    name: name, reportsPerHour: reportsPerHour, batchRunsPerHour: batchesPerHour, on: connection)
            } catch let error as APIKeyStore.CreateError {
                throw CommandFailure("\(error)")
            }
            Console.line(secret.value)
            FileHandle.standardError.write(Data("""
                Created API key "\(key.name)" (\(key.prefix)): \(key.reportsPerHour) reports and \
                \(key.batchRunsPerHour) batch runs per hour. The key above is shown only now; store it safely.

                """.utf8))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List keys, newest first: name, prefix id, limits, created, last used, revoked.")

        func run() throws {
            let connection = try ReportsCommand.connect()
            let keys = try APIKeyStore.list(on: connection)
            Console.table(
                ["name", "id", "reports/h", "batch runs/h", "created", "last used", "revoked"],
                keys.map { key in
                    [key.name, key.prefix, String(key.reportsPerHour), String(key.batchRunsPerHour),
                     key.createdAt.formatted(.iso8601), key.lastUsedAt?.formatted(.iso8601) ?? "never",
                     key.revokedAt?.formatted(.iso8601) ?? "-"]
                })
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key at once: its requests are answered 401 from now on.")

        @Argument(help: "The key's name, its id (mlk_… as `list` shows it), or the key itself (a leaked one).")
        var key: String

        func run() throws {
            let connection = try ReportsCommand.connect()
            guard let revoked = try APIKeyStore.revoke(key, on: connection) else {
                // A whole key is never echoed, not even back to the operator's terminal (or a CI log).
                let shown = APIKeySecret(presented: key) == nil ? key : "given"
                throw CommandFailure("no API key has the name or id \(shown)")
            }
            Console.line("Revoked API key \"\(revoked.name)\" (\(revoked.prefix)).")
        }
    }
}
