import Foundation
import HTTPClient
import Logging
import Web

/// The server's half of "Connect Parallel" (OAuth 2 authorisation code with PKCE, RFC 7591 registration).
///
/// As Parallel's OAuth provider does it (docs.parallel.ai/integrations/oauth-provider; its RFC 8414 metadata at
/// platform.parallel.ai): the scope is `key:read`, clients are public and identified by their host name (the
/// user approves "by hostname"), and the access token is the user's API key. Like the reference console of seed
/// 002, the console registers for its callback and then exchanges the code with `client_id` set to its own host
/// name; when registration is refused or absent, the host name is the client id from the start.
///
/// The page's Content-Security-Policy allows `connect-src 'self'` only, so discovery, registration and the token
/// exchange go through these relays to exactly the configured issuer's endpoints; the browser itself navigates
/// to the authorisation page. The PKCE verifier and `state` are made and checked in the browser; the server
/// sees the verifier only to forward it, and the access token only in passing: it is neither stored nor logged.
struct ConsoleOAuth {
    /// The authorisation server (`CONSOLE_OAUTH_ISSUER`).
    var issuer: String
    /// Where the issuer sends the browser back: this site's `/console/callback` (from `BASE_URL`, never from a
    /// request header a client controls).
    var redirectURI: String
    var logger: Logger
    /// The client for calls to the issuer: the request thread's own (`RequestContext.consoleClient`), or a new one.
    var client: () throws -> HTTPClient = { try HTTPClient() }

    /// The issuer's endpoints, from its RFC 8414 metadata when it has some, else Parallel's `/getKeys/*` paths.
    struct Endpoints: Equatable {
        var authorization: String
        /// Nil when the metadata lists no registration endpoint.
        var registration: String?
        var token: String
    }

    /// The only scope Parallel's provider defines: hand over an API key.
    static let scope = "key:read"

    /// This console's client id at the provider: the host name of its callback (`BASE_URL`).
    var hostClientID: String { URLComponents(string: redirectURI)?.host?.lowercased() ?? "localhost" }

    /// Discovers the endpoints and registers a public client for `redirectURI` (falling back to the host name
    /// as client id); the browser gets what it needs to build the authorisation URL.
    func start() throws -> [String: String] {
        let endpoints = try discover()
        return [
            "authorization_endpoint": endpoints.authorization, "client_id": try register(at: endpoints),
            "redirect_uri": redirectURI, "scope": Self.scope,
        ]
    }

    /// RFC 7591 registration of the callback, as seed 002 does; the host name when the provider refuses it or
    /// has no registration endpoint (Parallel's documented clients never register).
    func register(at endpoints: Endpoints) throws -> String {
        guard let url = endpoints.registration else { return hostClientID }
        let registration: [String: Any] = [
            "redirect_uris": [redirectURI], "client_name": "Marketlens task console",
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"], "response_types": ["code"],
            "scope": Self.scope,
        ]
        let response = try post(
            url, contentType: "application/json", body: Array(try JSONSerialization.data(withJSONObject: registration)))
        guard (200...201).contains(response.status), let object = Self.object(response.body),
            let clientID = object["client_id"] as? String, Self.isToken(clientID, max: 256)
        else {
            logger.notice("console oauth registration refused; using the host name", metadata: ["status": "\(response.status)"])
            return hostClientID
        }
        return clientID
    }

    /// Exchanges an authorisation code for an access token (the user's API key), checking the inputs' shapes
    /// first. The `client_id` sent is this console's host name, as seed 002 and Parallel's docs send it,
    /// whatever id the authorisation request used.
    func exchange(code: String, verifier: String) throws -> [String: String] {
        let clientID = hostClientID
        guard Self.isToken(code, max: 512), Self.isVerifier(verifier) else {
            throw HTTPError.unprocessable(fields: ["code": "code and a 43–128 character code_verifier are required"])
        }
        let endpoints = try discover()
        var form = URLEncodedForm()
        for (name, value) in [
            ("grant_type", "authorization_code"), ("code", code), ("client_id", clientID),
            ("redirect_uri", redirectURI), ("code_verifier", verifier),
        ] {
            form.fields.append(.init(name: name, value: value))
        }
        let response = try post(
            endpoints.token, contentType: "application/x-www-form-urlencoded", body: Array(form.encoded.utf8))
        let object = Self.object(response.body) ?? [:]
        guard response.status == 200, let token = object["access_token"] as? String, Self.isToken(token, max: 512) else {
            let reason = (object["error"] as? String).flatMap { Self.isToken($0, max: 64) ? $0 : nil } ?? "unknown"
            logger.warning("console oauth token exchange refused", metadata: ["status": "\(response.status)", "reason": "\(reason)"])
            throw HTTPError(status: 400, code: "oauth_exchange_failed",
                            message: "The authorisation server refused the code (\(reason)). Please connect again.")
        }
        return ["access_token": token, "token_type": (object["token_type"] as? String) ?? "Bearer"]
    }

    /// The issuer's metadata endpoints, kept only when they are on the issuer's own origin (a tampered or
    /// misconfigured document must not turn the relay towards another host); the seed's paths otherwise.
    func discover() throws -> Endpoints {
        let fallback = Endpoints(
            authorization: issuer + "/getKeys/authorize", registration: issuer + "/getKeys/register",
            token: issuer + "/getKeys/token")
        let response = try client().send(
            HTTPRequest(url: issuer + "/.well-known/oauth-authorization-server", headers: [("Accept", "application/json")],
                        timeout: 15))
        guard response.status == 200, let metadata = Self.object(response.body) else { return fallback }
        func endpoint(_ name: String, _ otherwise: String?) -> String? {
            guard let url = metadata[name] as? String else { return otherwise }
            return Self.sameOrigin(url, issuer) ? url : otherwise
        }
        return Endpoints(
            authorization: endpoint("authorization_endpoint", fallback.authorization) ?? fallback.authorization,
            registration: metadata["registration_endpoint"] == nil ? nil : endpoint("registration_endpoint", nil),
            token: endpoint("token_endpoint", fallback.token) ?? fallback.token)
    }

    private func post(_ url: String, contentType: String, body: [UInt8]) throws -> HTTPResponse {
        return try client().send(
            HTTPRequest(method: "POST", url: url, headers: [("Content-Type", contentType), ("Accept", "application/json")],
                        body: body, timeout: 20))
    }

    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// 1…`max` printable ASCII characters without spaces.
    static func isToken(_ text: String, max: Int) -> Bool {
        let bytes = Array(text.utf8)
        return !bytes.isEmpty && bytes.count <= max && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// RFC 7636: 43–128 characters from the unreserved set.
    static func isVerifier(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return (43...128).contains(bytes.count) && bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "~")
        }
    }

    /// Same scheme, host and port.
    static func sameOrigin(_ url: String, _ base: String) -> Bool {
        guard let a = URLComponents(string: url), let b = URLComponents(string: base), a.host != nil else { return false }
        func port(_ c: URLComponents) -> Int? { c.port ?? (c.scheme?.lowercased() == "https" ? 443 : c.scheme?.lowercased() == "http" ? 80 : nil) }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased()
            && port(a) == port(b)
    }
}
