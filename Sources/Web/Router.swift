/// What the router found for a request.
public enum RouteMatch<Context> {
    /// A handler, the decoded path parameters, and whether the body must be dropped (HEAD).
    case found(Router<Context>.Handler, parameters: [String: String], dropBody: Bool)
    /// No route has this path.
    case notFound
    /// The path exists, but not for this method; `allowed` feeds the `Allow` header.
    case methodNotAllowed(allowed: [String])
    /// The path with its trailing slash removed exists: redirect there (308) instead.
    case redirect(location: String)
    /// The path is badly percent-encoded.
    case badRequest(HTTPError)
}

/// Routes requests by method and path pattern to handlers taking the app's per-thread `Context`.
///
/// - Patterns: `/reports/:id`, `/r/:slug.md` (parameter plus literal suffix), `/static/*rest` (wildcard, last).
///   The most specific route wins (literal over suffixed parameter over parameter over wildcard), whatever
///   the order of registration. Parameters are percent-decoded strictly and valid UTF-8.
/// - `HEAD` falls back to the `GET` route, and the body is dropped.
/// - Trailing slashes: paths match exactly; `/library/` answers 308 to `/library` (query kept) when that exists.
///   Paths with empty segments (`//x`) never match, which also keeps the redirect from pointing off-site.
///
/// Built once at start-up and shared, immutable, by every request thread.
public struct Router<Context>: Sendable {
    /// A request handler; errors it throws become error responses (see `ErrorResponder`).
    public typealias Handler = @Sendable (Request, Context) throws -> Response

    struct Route: Sendable {
        var method: String
        var pattern: RoutePattern
        var handler: Handler
    }

    private var routes: [Route] = []

    /// An empty router.
    public init() {}

    /// Registers `handler` for `method` (case-insensitive) and `pattern`. A malformed pattern is a programming
    /// error caught at start-up, so it stops the process with a message naming the pattern.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        guard let compiled = RoutePattern(pattern) else { preconditionFailure("invalid route pattern \(pattern)") }
        routes.append(Route(method: method.uppercased(), pattern: compiled, handler: handler))
    }

    /// Every registered route as `(method, pattern)` in registration order, e.g. `("GET", "/reports/:id")`: lets
    /// a test hold a description of the routes (the OpenAPI document) to the router itself.
    public var registeredRoutes: [(method: String, pattern: String)] { routes.map { ($0.method, $0.pattern.text) } }

    /// Registers a `GET` route (which also answers `HEAD`).
    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add("GET", pattern, handler) }
    /// Registers a `POST` route.
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add("POST", pattern, handler) }
    /// Registers a `PUT` route.
    public mutating func put(_ pattern: String, _ handler: @escaping Handler) { add("PUT", pattern, handler) }
    /// Registers a `PATCH` route.
    public mutating func patch(_ pattern: String, _ handler: @escaping Handler) { add("PATCH", pattern, handler) }
    /// Registers a `DELETE` route.
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add("DELETE", pattern, handler) }

    /// Finds the route for `request`. A path or query string with a bad percent-escape or invalid UTF-8 is a
    /// bad request on every route, whether or not its handler reads the query.
    public func route(_ request: Request) -> RouteMatch<Context> { resolve(request).match }

    /// The match and, when a route was found, its pattern as registered (`/r/:slug`: what a log line names).
    private func resolve(_ request: Request) -> (match: RouteMatch<Context>, pattern: String?) {
        let segments: [String]?
        do {
            segments = try RoutePattern.split(request.path)
            _ = try request.queryItems
        } catch {
            return (.badRequest(error), nil)
        }
        let method = request.method.uppercased()
        if let segments {
            let candidates = routes.compactMap { route in route.pattern.match(segments).map { (route, $0) } }
            if !candidates.isEmpty {
                let fallback = method == "HEAD" && !candidates.contains { $0.0.method == "HEAD" } ? "GET" : method
                let best = candidates.filter { $0.0.method == fallback }
                    .max { $0.0.pattern.specificity.lexicographicallyPrecedes($1.0.pattern.specificity) }
                if let (route, parameters) = best {
                    return (.found(route.handler, parameters: parameters, dropBody: method == "HEAD"),
                            route.pattern.text)
                }
                var allowed = Set(candidates.map(\.0.method))
                if allowed.contains("GET") { allowed.insert("HEAD") }
                return (.methodNotAllowed(allowed: allowed.sorted()), nil)
            }
        }
        return (redirectWithoutTrailingSlash(request) ?? .notFound, nil)
    }

    /// Routes and runs the handler; 404, 405 and 400 are thrown as `HTTPError`, a trailing-slash redirect is
    /// returned as a 308 response.
    public func handle(_ request: Request, context: Context) throws -> Response {
        try run(route(request), request, context: context)
    }

    private func run(_ match: RouteMatch<Context>, _ request: Request, context: Context) throws -> Response {
        switch match {
        case .found(let handler, let parameters, let dropBody):
            var routed = request
            routed.parameters = parameters
            let response = try handler(routed, context)
            return dropBody ? response.withoutBody() : response
        case .notFound:
            throw HTTPError.notFound()
        case .methodNotAllowed(let allowed):
            throw HTTPError.methodNotAllowed(allowed: allowed)
        case .redirect(let location):
            return Response(status: RedirectStatus.permanent.rawValue, headers: ["Location": location])
        case .badRequest(let error):
            throw error
        }
    }

    /// Like `handle` but never throws: errors become responses through `errors` (which logs unexpected ones).
    /// The matched route's pattern goes into the response's `logFields["route"]`.
    public func respond(to request: Request, context: Context, errors: ErrorResponder) -> Response {
        let (match, pattern) = resolve(request)
        var response: Response
        do {
            response = try run(match, request, context: context)
        } catch {
            response = errors.response(for: error, request: request)
        }
        if let pattern { response.logFields["route"] = pattern }
        return response
    }

    private func redirectWithoutTrailingSlash(_ request: Request) -> RouteMatch<Context>? {
        guard request.path.count > 1, request.path.hasSuffix("/") else { return nil }
        let trimmed = String(request.path.dropLast())
        guard Response.isSafeRedirectTarget(trimmed), let segments = try? RoutePattern.split(trimmed),
            routes.contains(where: { $0.pattern.match(segments) != nil })
        else { return nil }
        let location = request.query.isEmpty ? trimmed : trimmed + "?" + request.query
        return Response.isSafeRedirectTarget(location) ? .redirect(location: location) : nil
    }
}
