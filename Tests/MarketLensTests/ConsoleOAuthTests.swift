import Foundation
import HTTPClient
import Testing
import TestSupport
import Web
@testable import MarketLens

/// The server half of "Connect Parallel" against upstream-sim's OAuth endpoints, playing the browser's part
/// (PKCE verifier and challenge, following the authorisation redirect) by hand.
@Suite(.enabled(if: ConsoleSim.available, "upstream-sim not built (swift build --product upstream-sim)"))
struct ConsoleOAuthTests {
    static let redirect = "https://localhost:8443/console/callback"

    /// RFC 7636 appendix B's verifier and one more, with their S256 challenges (computed independently).
    static let rfcVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let plainVerifier = String(repeating: "v", count: 64)
    static func challenge(_ verifier: String) -> String {
        verifier == rfcVerifier
            ? "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" : "w1TpKUdYE9hUAcNSeeSRFioHDxfUxuHho_JHAfZ_vDM"
    }

    /// Registers, authorises (the sim approves at once) and returns the code from the redirect.
    static func authorise(
        _ oauth: ConsoleOAuth, verifier: String, state: String = "st-123", clientID chosen: String? = nil,
        scope: String? = nil
    ) throws -> (String, String) {
        let start = try oauth.start()
        #expect(start["scope"] == "key:read")
        let clientID = try #require(chosen ?? start["client_id"])
        #expect(start["redirect_uri"] == redirect)
        var url = URLComponents(string: try #require(start["authorization_endpoint"]))!
        url.queryItems = [
            .init(name: "response_type", value: "code"), .init(name: "client_id", value: clientID),
            .init(name: "redirect_uri", value: redirect), .init(name: "scope", value: scope ?? start["scope"]),
            .init(name: "code_challenge", value: challenge(verifier)), .init(name: "code_challenge_method", value: "S256"),
            .init(name: "state", value: state),
        ]
        let response = try HTTPClient().send(HTTPRequest(url: try #require(url.string), timeout: 10))
        #expect(response.status == 302)
        let location = try #require(response.header("Location"))
        #expect(location.hasPrefix(redirect + "?"))
        let query = URLComponents(string: location)?.queryItems ?? []
        #expect(query.first { $0.name == "state" }?.value == state)
        return (try #require(query.first { $0.name == "code" }?.value), clientID)
    }

    @Test func registrationAuthorisationAndExchangeYieldAWorkingKey() throws {
        let sim = try ConsoleSim()
        let logs = LogCapture()
        let oauth = ConsoleOAuth(issuer: sim.url, redirectURI: Self.redirect, logger: logs.logger)
        let endpoints = try oauth.discover()
        #expect(endpoints.token == sim.url + "/getKeys/token")
        let verifier = Self.rfcVerifier
        let (code, clientID) = try Self.authorise(oauth, verifier: verifier)
        let token = try oauth.exchange(code: code, verifier: verifier)
        let key = try #require(token["access_token"])
        #expect(key.count > 16)

        // The key works through the relay.
        let relay = ConsoleRelay(baseURL: sim.url, logger: logs.logger)
        let created = relay.respond(
            to: ConsoleRequests.make("POST", "/console/api/v1/tasks/runs", key: key,
                                     body: #"{"input":"x","processor":"lite"}"#),
            path: "/v1/tasks/runs")
        #expect(created.status == 202)
        for line in logs.lines { #expect(!line.contains(key) && !line.contains(code), "leak: \(line)") }
    }

    @Test func aWrongVerifierOrAReusedCodeIsRefused() throws {
        let sim = try ConsoleSim()
        let oauth = ConsoleOAuth(issuer: sim.url, redirectURI: Self.redirect, logger: LogCapture().logger)
        let verifier = Self.plainVerifier
        let (code, clientID) = try Self.authorise(oauth, verifier: verifier)
        #expect(throws: HTTPError.self) {
            try oauth.exchange(code: code, verifier: String(repeating: "w", count: 64))
        }
        // The sim burns the code on any attempt, so the right verifier is now too late as well.
        do {
            _ = try oauth.exchange(code: code, verifier: verifier)
            Issue.record("a used code was accepted")
        } catch let error as HTTPError {
            #expect(error.code == "oauth_exchange_failed")
            #expect(error.message.contains("invalid_grant"))
        }
        // Malformed input never leaves the server.
        #expect(throws: HTTPError.self) { try oauth.exchange(code: code, verifier: "short") }
    }

    @Test func theCodeIsExchangedWithTheConsolesHostNameAsSeed002Does() throws {
        let sim = try ConsoleSim()
        let oauth = ConsoleOAuth(issuer: sim.url, redirectURI: Self.redirect, logger: LogCapture().logger)
        let (code, registered) = try Self.authorise(oauth, verifier: Self.rfcVerifier)
        #expect(registered.hasPrefix("sim_client_"), "registered at the provider first")
        #expect(oauth.hostClientID == "localhost")
        _ = try oauth.exchange(code: code, verifier: Self.rfcVerifier)
        let requests = try HTTPClient().send(HTTPRequest(url: sim.url + "/__sim/requests", timeout: 10))
        let log = String(decoding: requests.body, as: UTF8.self)
        #expect(log.contains("client_id=localhost"), "the token request names the host, not the registered id")
    }

    @Test func theDocumentedFlowWithoutRegistrationWorksToo() throws {
        let sim = try ConsoleSim()
        let oauth = ConsoleOAuth(issuer: sim.url, redirectURI: Self.redirect, logger: LogCapture().logger)
        let (code, _) = try Self.authorise(oauth, verifier: Self.plainVerifier, clientID: "localhost")
        #expect(try oauth.exchange(code: code, verifier: Self.plainVerifier)["access_token"]?.isEmpty == false)
    }

    @Test func anUnknownScopeIsRefusedByTheProvider() throws {
        let sim = try ConsoleSim()
        let oauth = ConsoleOAuth(issuer: sim.url, redirectURI: Self.redirect, logger: LogCapture().logger)
        let start = try oauth.start()
        var url = URLComponents(string: try #require(start["authorization_endpoint"]))!
        url.queryItems = [
            .init(name: "response_type", value: "code"), .init(name: "client_id", value: "localhost"),
            .init(name: "redirect_uri", value: Self.redirect), .init(name: "scope", value: "api"),
            .init(name: "code_challenge", value: Self.challenge(Self.rfcVerifier)),
            .init(name: "code_challenge_method", value: "S256"), .init(name: "state", value: "s"),
        ]
        let response = try HTTPClient().send(HTTPRequest(url: try #require(url.string), timeout: 10))
        #expect(response.header("Location")?.contains("error=invalid_scope") == true)
    }

    @Test func anUnreachableIssuerIsAnErrorNotAHang() throws {
        let oauth = ConsoleOAuth(issuer: "http://127.0.0.1:9", redirectURI: Self.redirect, logger: LogCapture().logger)
        #expect(throws: (any Error).self) { try oauth.start() }
    }
}
