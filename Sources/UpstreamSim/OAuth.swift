import Foundation

/// An issued authorization code awaiting exchange.
struct OAuthCode: Sendable {
    var clientID: String
    var redirectURI: String
    var challenge: String
    var scope: String
    var expires: Date
}

/// Parallel's OAuth provider (docs.parallel.ai/integrations/oauth-provider, metadata at
/// platform.parallel.ai/.well-known/oauth-authorization-server): authorisation code with mandatory PKCE S256,
/// public clients identified by host name (no registration needed: `client_id=yourapp.com`), the one scope
/// `key:read`, one-time codes, and an access token that is the user's API key. RFC 7591 registration at
/// `/getKeys/register` is served too (seed 002 registers first), and the code exchange accepts either the
/// client id the code was issued to or the host name of its redirect URI, which is what seed 002 sends.
extension Simulator {
    static let oauthScopes: Set<String> = ["key:read"]

    func oauthMetadata(_ conn: Connection) {
        let b = parallelBaseURL
        try? conn.respondJSON(200, .object([
            ("issuer", .string(b)), ("authorization_endpoint", .string(b + "/getKeys/authorize")),
            ("token_endpoint", .string(b + "/getKeys/token")), ("registration_endpoint", .string(b + "/getKeys/register")),
            ("response_types_supported", ["code"]), ("grant_types_supported", ["authorization_code"]),
            ("code_challenge_methods_supported", ["S256"]), ("token_endpoint_auth_methods_supported", ["none"]),
            ("scopes_supported", ["key:read"]),
        ]))
    }

    private func oauthError(_ conn: Connection, _ status: Int, _ error: String, _ description: String) {
        try? conn.respondJSON(status, .object([("error", .string(error)), ("error_description", .string(description))]),
                              headers: [("Cache-Control", "no-store")])
    }

    func oauthRegister(_ req: HTTPRequest, _ conn: Connection) {
        guard let body = req.json, let uris = body["redirect_uris"]?.arrayValue?.compactMap(\.stringValue), !uris.isEmpty else {
            oauthError(conn, 400, "invalid_client_metadata", "redirect_uris is required")
            return
        }
        for u in uris {
            guard let url = URL(string: u), ["http", "https"].contains(url.scheme ?? ""), url.fragment == nil else {
                oauthError(conn, 400, "invalid_redirect_uri", "redirect_uris must be absolute http(s) URLs without fragment")
                return
            }
        }
        let id = "sim_client_" + IDs.hex(16)
        locked { oauthClients[id] = uris }
        try? conn.respondJSON(201, .object([
            ("client_id", .string(id)), ("client_id_issued_at", .num(Int(Date().timeIntervalSince1970))),
            ("redirect_uris", .array(uris.map { .string($0) })), ("client_name", body["client_name"] ?? .null),
            ("token_endpoint_auth_method", "none"), ("grant_types", ["authorization_code"]), ("response_types", ["code"]),
        ]))
    }

    func oauthAuthorize(_ req: HTTPRequest, _ conn: Connection) {
        let q = req.queryValue
        guard let clientID = q("client_id"), !clientID.isEmpty, clientID.count <= 256 else {
            oauthError(conn, 400, "invalid_request", "client_id is required")
            return
        }
        let registered = locked({ oauthClients[clientID] })
        let redirectQuery = q("redirect_uri") ?? (registered?.count == 1 ? registered?[0] : nil)
        guard let redirect = redirectQuery, let redirectURL = URL(string: redirect),
              ["http", "https"].contains(redirectURL.scheme ?? ""), redirectURL.host != nil, redirectURL.fragment == nil,
              registered?.contains(redirect) ?? true else {
            oauthError(conn, 400, "invalid_request", "redirect_uri is missing, not an absolute http(s) URL, or not registered for this client")
            return
        }
        func back(_ params: [(String, String)]) {
            var p = params
            if let s = q("state") { p.append(("state", s)) }
            let sep = redirect.contains("?") ? "&" : "?"
            let loc = redirect + sep + p.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
            try? conn.respond(status: 302, headers: [("Location", loc), ("Cache-Control", "no-store")])
        }
        guard q("response_type") == "code" else { back([("error", "unsupported_response_type")]); return }
        guard let challenge = q("code_challenge"), !challenge.isEmpty, q("code_challenge_method") == "S256" else {
            back([("error", "invalid_request"), ("error_description", "PKCE code_challenge with method S256 is required")])
            return
        }
        let scopes = (q("scope") ?? "key:read").split(separator: " ").map(String.init)
        guard !scopes.isEmpty, scopes.allSatisfy(Simulator.oauthScopes.contains) else {
            back([("error", "invalid_scope"), ("error_description", "Unknown scope; the only scope is key:read")])
            return
        }
        if let d = q("deny"), d != "0" { back([("error", "access_denied"), ("error_description", "The user denied access")]); return }
        let code = "sim_code_" + IDs.hex(24)
        locked {
            oauthCodes[code] = OAuthCode(clientID: clientID, redirectURI: redirect, challenge: challenge,
                                         scope: scopes.joined(separator: " "), expires: Date().addingTimeInterval(600))
        }
        back([("code", code)])
    }

    func oauthToken(_ req: HTTPRequest, _ conn: Connection) {
        var params: [(String, String)]
        if (req.header("content-type") ?? "").contains("json"), let j = req.json?.objectValue {
            params = j.compactMap { k, v in v.stringValue.map { (k, $0) } }
        } else {
            params = HTTPRequest.parseForm(String(decoding: req.body, as: UTF8.self))
        }
        func p(_ k: String) -> String? { params.first { $0.0 == k }?.1 }
        guard p("grant_type") == "authorization_code" else {
            oauthError(conn, 400, "unsupported_grant_type", "Only authorization_code is supported")
            return
        }
        guard let code = p("code"), let verifier = p("code_verifier"), let clientID = p("client_id") else {
            oauthError(conn, 400, "invalid_request", "code, code_verifier and client_id are required")
            return
        }
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let grant: OAuthCode? = locked { oauthCodes.removeValue(forKey: code) }
        guard let grant, grant.expires > Date() else { oauthError(conn, 400, "invalid_grant", "Unknown, used or expired code"); return }
        let redirectHost = URL(string: grant.redirectURI)?.host?.lowercased()
        guard grant.clientID == clientID || clientID.lowercased() == redirectHost else {
            oauthError(conn, 400, "invalid_grant", "Code was issued to another client")
            return
        }
        if let r = p("redirect_uri"), r != grant.redirectURI {
            oauthError(conn, 400, "invalid_grant", "redirect_uri does not match"); return
        }
        guard (43...128).contains(verifier.count), verifier.allSatisfy(unreserved.contains),
              pkceS256(verifier) == grant.challenge else {
            oauthError(conn, 400, "invalid_grant", "PKCE verification failed")
            return
        }
        let token = "sim_oauth_" + IDs.hex(32)
        locked { _ = oauthTokens.insert(token) }
        try? conn.respondJSON(200, .object([("access_token", .string(token)), ("token_type", "Bearer"),
                                            ("scope", .string(grant.scope))]),
                              headers: [("Cache-Control", "no-store")])
    }
}
