import Migrations
import Postgres
import Web

/// Liveness and readiness for nginx, load balancers and `make up`.
enum HealthController {
    /// `GET /healthz`: the process answers. Touches nothing else, so a database outage does not kill workers.
    @Sendable static func live(_ request: Request, _ context: RequestContext) throws -> Response {
        .text("ok\n")
    }

    /// `GET /readyz`: the database answers and every migration is applied unchanged; 503 with the reason otherwise.
    @Sendable static func ready(_ request: Request, _ context: RequestContext) throws -> Response {
        let problem: String?
        do {
            problem = try context.database.withConnection { connection in
                _ = try connection.query("SELECT 1")
                let status = try Migrator(directory: context.app.configuration.migrationsDirectory).status(on: connection)
                if !status.changed.isEmpty || !status.missing.isEmpty { return "applied migrations were changed or removed" }
                if !status.pending.isEmpty { return "\(status.pending.count) migration(s) pending" }
                return nil
            }
        } catch {
            context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            problem = "database unreachable"
        }
        guard let problem else { return .text("ready\n") }
        return .text("not ready: \(problem)\n", status: 503)
    }
}
