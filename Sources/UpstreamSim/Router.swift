import Foundation

/// Dispatches requests on the two listeners.
extension Simulator {
    func handleParallel(_ req: HTTPRequest, _ conn: Connection) {
        if req.path.hasPrefix("/__sim/") { handleControl(req, conn); return }
        logRequest(req, api: "parallel")
        let p = req.path.split(separator: "/").map(String.init)
        let m = req.method
        switch (m, p) {
        case ("GET", [".well-known", "oauth-authorization-server"]): oauthMetadata(conn); return
        case ("POST", ["getKeys", "register"]), ("POST", ["oauth", "register"]): oauthRegister(req, conn); return
        case ("GET", ["getKeys", "authorize"]), ("GET", ["oauth", "authorize"]): oauthAuthorize(req, conn); return
        case ("POST", ["getKeys", "token"]), ("POST", ["oauth", "token"]): oauthToken(req, conn); return
        case ("POST", ["chat", "completions"]), ("POST", ["v1beta", "chat", "completions"]), ("POST", ["v1", "chat", "completions"]):
            chatCompletions(req, conn); return
        default: break
        }
        guard p.count >= 3, p[0] == "v1" || p[0] == "v1beta", p[1] == "tasks" else {
            try? conn.respondJSON(404, canonicalError("Not found"))
            return
        }
        guard checkParallelAuth(req, conn) else { return }
        let rest = Array(p.dropFirst(2))
        func at(_ pattern: String...) -> [String]? { matchPath(rest, pattern) }
        if m == "POST", at("runs") != nil { createRun(req, conn) }
        else if m == "GET", let a = at("runs", "*") { getRun(a[0], req, conn) }
        else if m == "GET", let a = at("runs", "*", "input") { getInput(a[0], req, conn) }
        else if m == "GET", let a = at("runs", "*", "result") { getResult(a[0], req, conn) }
        else if m == "GET", let a = at("runs", "*", "events") { runEvents(a[0], req, conn) }
        else if m == "POST", at("groups") != nil { createGroup(req, conn) }
        else if m == "GET", let a = at("groups", "*") { getGroup(a[0], req, conn) }
        else if m == "POST", let a = at("groups", "*", "runs") { addGroupRuns(a[0], req, conn) }
        else if m == "GET", let a = at("groups", "*", "runs") { groupRuns(a[0], req, conn) }
        else if m == "GET", let a = at("groups", "*", "events") { groupEvents(a[0], req, conn) }
        else if m == "GET", let a = at("groups", "*", "runs", "*") { getRun(a[1], req, conn, group: a[0]) }
        else if ["runs", "groups"].contains(rest.first ?? "") && !["GET", "POST"].contains(m) {
            try? conn.respondJSON(405, canonicalError("Method not allowed"))
        } else {
            try? conn.respondJSON(404, canonicalError("Not found"))
        }
    }

    func handleResend(_ req: HTTPRequest, _ conn: Connection) {
        if req.path.hasPrefix("/__sim/") { handleControl(req, conn); return }
        logRequest(req, api: "resend")
        switch (req.method, req.path) {
        case ("POST", "/emails"): resendSend(req, conn)
        case ("POST", "/emails/batch"): resendBatch(req, conn)
        case (_, "/emails"), (_, "/emails/batch"):
            try? conn.respondJSON(405, resendError(405, "method_not_allowed", "Method is not allowed for the requested path."))
        default:
            try? conn.respondJSON(404, resendError(404, "not_found", "The requested endpoint does not exist."))
        }
    }
}

/// Matches path segments against a pattern where "*" captures one segment.
func matchPath(_ segments: [String], _ pattern: [String]) -> [String]? {
    guard segments.count == pattern.count else { return nil }
    var caps: [String] = []
    for (s, p) in zip(segments, pattern) {
        if p == "*" { caps.append(s) } else if s != p { return nil }
    }
    return caps
}
