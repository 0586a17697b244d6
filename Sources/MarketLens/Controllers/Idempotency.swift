import Foundation
import Postgres
import Web

/// The `Idempotency-Key` header of `POST /api/v1/reports`, `POST /research/batch` and
/// `POST /research/batch/stream`, on top of `IdempotencyKeys`: a client that lost an answer (a 502 while a
/// worker died, a dropped connection) sends the same request again and gets the same answer, never a second
/// report or batch.
enum Idempotency {
    static let header = "Idempotency-Key"
    /// Response headers kept with an answer (the rest are the site's defaults).
    static let keptHeaders = ["Content-Type", "Location", "Cache-Control", BatchController.manageHeader]

    /// The request's key; nil without the header, 400 when it is malformed.
    static func key(_ request: Request) throws -> String? {
        guard let key = request.header(header) else { return nil }
        guard IdempotencyKeys.isValid(key) else {
            throw HTTPError.badRequest("Idempotency-Key must be 1 to 255 visible ASCII characters.",
                                       code: "invalid_idempotency_key")
        }
        return key
    }

    /// Runs `handler` once per key and body; repeats get its stored answer. A thrown error releases the key.
    static func respond(_ request: Request, _ context: RequestContext, scope: String,
                        _ handler: () throws -> Response) throws -> Response {
        guard let key = try key(request) else { return try handler() }
        let keys = IdempotencyKeys(scope: scope)
        switch try claim(keys, key, request, context) {
        case .fresh:
            let response: Response
            do {
                response = try handler()
            } catch {
                try? context.database.withConnection { try keys.release(key: key, on: $0) }
                throw error
            }
            guard case .bytes(let bytes) = response.body else { return response }
            var headers: [String: String] = [:]
            for name in keptHeaders { if let value = response.headers[name] { headers[name] = value } }
            try context.database.withConnection {
                try keys.answer(key: key, status: response.status, headers: headers,
                                body: String(decoding: bytes, as: UTF8.self), resourceID: nil, on: $0)
            }
            return response
        case .replay(let status, let headers, let body, _):
            var response = Response(status: status, body: .bytes(Array((body ?? "").utf8)))
            for (name, value) in headers { response.headers[name] = value }
            response.headers["Idempotent-Replayed"] = "true"
            return response
        }
    }

    /// The batch routes: the stored answer is the batch itself (and its manage link), so a repeat of the
    /// stream attaches to the same batch's events and a repeat of the JSON call waits on the same batch.
    static func batch(_ request: Request, _ context: RequestContext, scope: String,
                      create: () throws -> (BatchRecord, ManageToken),
                      respond: (BatchRecord, _ manageURL: String?) throws -> Response) throws -> Response {
        guard let key = try key(request) else {
            let (batch, token) = try create()
            return try respond(batch, token.url(baseURL: context.app.configuration.baseURL))
        }
        let keys = IdempotencyKeys(scope: scope)
        switch try claim(keys, key, request, context) {
        case .fresh:
            let batch: BatchRecord
            let token: ManageToken
            do {
                (batch, token) = try create()
            } catch {
                try? context.database.withConnection { try keys.release(key: key, on: $0) }
                throw error
            }
            let manageURL = token.url(baseURL: context.app.configuration.baseURL)
            try context.database.withConnection {
                try keys.answer(key: key, status: 200, headers: [BatchController.manageHeader: manageURL], body: nil,
                                resourceID: batch.publicID, on: $0)
            }
            return try respond(batch, manageURL)
        case .replay(_, let headers, _, let resourceID):
            guard let resourceID,
                  let batch = try context.database.withConnection({ try BatchStore.find(publicID: resourceID, on: $0) })
            else { throw HTTPError(status: 409, code: "idempotency_key_reused",
                                   message: "What this Idempotency-Key created no longer exists.") }
            return try respond(batch, headers[BatchController.manageHeader])
                .addingHeader("Idempotent-Replayed", "true")
        }
    }

    /// Claims the key; a different body or a first request still working become 409 errors here.
    private static func claim(_ keys: IdempotencyKeys, _ key: String, _ request: Request,
                              _ context: RequestContext) throws -> Proceed {
        let claim = try context.database.withConnection { connection in
            try keys.claim(key: key, body: request.body, connection: { connection })
        }
        switch claim {
        case .mismatch:
            throw HTTPError(status: 409, code: "idempotency_key_reused",
                            message: "This Idempotency-Key was used with a different request body.")
        case .inProgress:
            throw HTTPError(status: 409, code: "idempotency_in_progress",
                            message: "A request with this Idempotency-Key is still being processed. Retry shortly.",
                            headers: ["Retry-After": "2"])
        case .fresh:
            return .fresh
        case .replay(let status, let headers, let body, let resourceID):
            return .replay(status: status, headers: headers, body: body, resourceID: resourceID)
        }
    }

    /// A claim that lets the request go on: do the work, or answer as before.
    private enum Proceed {
        case fresh
        case replay(status: Int, headers: [String: String], body: String?, resourceID: String?)
    }
}
