import Foundation
import Web

/// `Authorization: Bearer <API key>` on the JSON API (`/api/v1/…`, `/research/batch*`): a valid key makes its
/// holder the request's rate subject; an invalid or revoked one is a 401 `invalid_api_key`, never a silent
/// fall-back to anonymous use; no header is anonymous (per-address limits). Routes wrap their handler once in
/// `Routes` (`api` or `owner`), so which routes take a key is declared where routes are.
enum APIKeyGate {
    /// A handler on a route where any bearer must be a valid API key.
    static func api(_ handler: @escaping Router<RequestContext>.Handler) -> Router<RequestContext>.Handler {
        { request, context in
            context.apiKey = try authenticate(request, context, acceptsManageToken: false)
            return try handler(request, context)
        }
    }

    /// A handler on an owner route, whose bearer is normally the report's manage token: only a bearer that
    /// claims to be an API key (`mlk_…`) is checked as one.
    static func owner(_ handler: @escaping Router<RequestContext>.Handler) -> Router<RequestContext>.Handler {
        { request, context in
            context.apiKey = try authenticate(request, context, acceptsManageToken: true)
            return try handler(request, context)
        }
    }

    /// The key the request presents; nil without an `Authorization` header (or with a manage token where one is
    /// accepted). Throws the 401 for anything else. The key never appears in the error.
    static func authenticate(_ request: Request, _ context: RequestContext, acceptsManageToken: Bool) throws
        -> APIKey?
    {
        guard let header = request.header("Authorization") else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let bearer = parts.count == 2 && parts[0].lowercased() == "bearer"
            ? parts[1].trimmingCharacters(in: .whitespaces) : nil
        guard let bearer, APIKeySecret.looksLikeKey(bearer) else {
            if acceptsManageToken { return nil }
            throw invalid("Send a valid API key as Authorization: Bearer <key>, or no Authorization header.")
        }
        guard let secret = APIKeySecret(presented: bearer),
              let key = try context.database.withConnection({ try APIKeyStore.find(secret, on: $0) })
        else { throw invalid("This API key is not valid.") }
        if key.revokedAt != nil { throw invalid("This API key has been revoked.") }
        return key
    }

    /// The 401 the API documents: `{"error":{"code":"invalid_api_key","message":…}}`.
    static func invalid(_ message: String) -> HTTPError {
        HTTPError(status: 401, code: "invalid_api_key", message: message,
                  headers: ["WWW-Authenticate": #"Bearer error="invalid_token""#])
    }
}
