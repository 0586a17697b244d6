import Foundation
import Markdown
import Web

/// The task console (product.md §10): its page, the OAuth callback page, and the JSON relays the page's scripts
/// call (`/console/api/…` to Parallel, `/console/oauth/…` to the authorisation server, Markdown rendering).
enum ConsoleController {
    /// `GET /console`: the run form, the run history and the live event view (the last two built by script).
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let processors = ConsoleProcessor.all.map { processor -> [String: Any] in
            [
                "name": processor.name, "label": processor.label, "price": processor.pricePerThousand,
                "latency": processor.latency, "fast": processor.name.hasSuffix("-fast"),
                "selected": processor.name == "core",
            ]
        }
        let page: [String: Any] = [
            "title": "Task console",
            "description": "Run any Parallel task with your own API key and watch its events live.",
            "nav": ["console": true],
            "standardProcessors": processors.filter { $0["fast"] as? Bool == false },
            "fastProcessors": processors.filter { $0["fast"] as? Bool == true },
            "issuerOrigin": AppConfiguration.origin(of: context.app.configuration.consoleOAuthIssuer),
            "maxMetadataKey": ConsoleRelayPolicy.maxMetadataKey,
            "maxMetadataValue": ConsoleRelayPolicy.maxMetadataValue,
        ]
        return try context.renderPage("console", page)
    }

    /// `GET /console/callback`: where the authorisation server sends the browser back; its script checks
    /// `state`, exchanges the code and returns to the console. The code never reaches our logs from here: the
    /// page itself does nothing with the query on the server.
    @Sendable static func callback(_ request: Request, _ context: RequestContext) throws -> Response {
        let response = try context.renderPage(
            "console-callback", ["title": "Connecting Parallel", "description": "Finishing the connection.",
                                 "nav": ["console": true]])
        // The code and state in the address must not leak to other sites through Referer.
        return response.addingHeader("Referrer-Policy", "no-referrer")
    }

    /// `GET|POST|… /console/api/*rest`: the relay to Parallel; only the allow-listed calls pass.
    @Sendable static func relay(_ request: Request, _ context: RequestContext) throws -> Response {
        let rest = request.parameters["rest"] ?? ""
        var relay = ConsoleRelay(baseURL: context.app.configuration.parallelBaseURL, logger: context.logger)
        relay.client = context.consoleClient
        relay.streams = context.app.consoleStreams
        return relay.respond(to: request, path: "/" + rest)
    }

    /// `POST /console/oauth/start`: discovery and dynamic client registration at the configured issuer.
    @Sendable static func oauthStart(_ request: Request, _ context: RequestContext) throws -> Response {
        try jsonCall(request, context) {
            try Response.json(oauth(context).start())
        }
    }

    /// `POST /console/oauth/token` `{code, code_verifier}`: the code exchange (the client id is the console's
    /// host name, chosen by the server; a `client_id` in the body is ignored).
    @Sendable static func oauthToken(_ request: Request, _ context: RequestContext) throws -> Response {
        struct Exchange: Decodable {
            var code: String
            var code_verifier: String
        }
        return try jsonCall(request, context) {
            let input = try request.decodeJSON(Exchange.self, maxBytes: 8 * 1024)
            let token = try oauth(context).exchange(code: input.code, verifier: input.code_verifier)
            return try Response.json(token)
        }
    }

    /// `POST /console/render-markdown` `{markdown}` → `{html}`: a run's text output rendered by the Markdown
    /// module (raw HTML dropped, only safe links kept), so the browser needs no Markdown library.
    @Sendable static func renderMarkdown(_ request: Request, _ context: RequestContext) throws -> Response {
        struct Input: Decodable { var markdown: String }
        return try jsonCall(request, context) {
            let input = try request.decodeJSON(Input.self, maxBytes: 2 << 20)
            do {
                let document = try MarkdownRenderer.render(
                    input.markdown, options: MarkdownOptions(citationLinks: false, maxInputBytes: 1 << 20))
                return try Response.json(["html": document.html])
            } catch is MarkdownError {
                throw HTTPError.payloadTooLarge("The output is too large to render.")
            }
        }
    }

    private static func oauth(_ context: RequestContext) -> ConsoleOAuth {
        let configuration = context.app.configuration
        var oauth = ConsoleOAuth(
            issuer: configuration.consoleOAuthIssuer, redirectURI: configuration.baseURL + "/console/callback",
            logger: context.logger)
        oauth.client = context.consoleClient
        return oauth
    }

    /// Same-origin checks, then `body`; every error as JSON, unexpected ones as a 502 that reveals nothing.
    private static func jsonCall(_ request: Request, _ context: RequestContext, _ body: () throws -> Response) throws
        -> Response
    {
        do {
            try ConsoleRelayPolicy.checkSameOrigin(request)
            return try body().cacheControl(.noStore)
        } catch let error as HTTPError {
            return error.jsonResponse()
        } catch {
            // Error descriptions in this codebase are safe to log (no keys, no parameters).
            context.logger.warning("console oauth relay failed", metadata: ["error": "\(error)"])
            return HTTPError(status: 502, code: "upstream_unreachable", message: "The authorisation server could not be reached.")
                .jsonResponse()
        }
    }
}
