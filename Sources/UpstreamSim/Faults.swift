import Foundation

/// One fault to inject: a name plus `k=v` parameters.
struct FaultSpec: Sendable {
    var name: String
    var params: [String: String]

    func int(_ k: String, _ d: Int) -> Int { params[k].flatMap { Int($0) } ?? d }
    func double(_ k: String, _ d: Double) -> Double { params[k].flatMap { Double($0) } ?? d }
    func string(_ k: String, _ d: String) -> String { params[k] ?? d }

    /// Parses `name;k=v;k=v`.
    static func parse(_ s: String) -> FaultSpec? {
        let parts = s.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = parts.first, !name.isEmpty else { return nil }
        var params: [String: String] = [:]
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1)
            params[String(kv[0])] = kv.count > 1 ? String(kv[1]) : "1"
        }
        return FaultSpec(name: name, params: params)
    }

    /// Parses a comma-separated list, as used in `metadata.sim_fault` and `X-Sim-Fault`.
    static func parseList(_ s: String?) -> [FaultSpec] {
        guard let s else { return [] }
        return s.split(separator: ",").compactMap { parse(String($0)) }
    }
}

/// A fault queued through `POST /__sim/faults` for the next `remaining` calls of an endpoint class.
struct QueuedFault: Sendable {
    var endpoint: String
    var spec: FaultSpec
    var remaining: Int

    var json: JSON {
        .object([("endpoint", .string(endpoint)), ("fault", .string(spec.name)), ("remaining", .num(remaining)),
                 ("params", .object(spec.params.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))])
    }
}

/// Names of the faults that apply to the HTTP response of any endpoint.
let responseFaultNames: Set<String> = ["429", "5xx", "500", "502", "503", "504", "auth", "401", "402", "403"]

extension Simulator {
    /// Takes the fault for this request: header first, then the queue for its endpoint class (consuming one use).
    func takeFaults(_ req: HTTPRequest, endpoint: String) -> [FaultSpec] {
        var out = FaultSpec.parseList(req.header("x-sim-fault"))
        locked {
            if let i = faultQueue.firstIndex(where: { $0.endpoint == endpoint || $0.endpoint == "any" }) {
                out.append(faultQueue[i].spec)
                faultQueue[i].remaining -= 1
                if faultQueue[i].remaining <= 0 { faultQueue.remove(at: i) }
            }
        }
        return out
    }

    /// Writes an error response for a response-level fault (429, 5xx, auth) and returns true, or returns false.
    func applyResponseFault(_ faults: [FaultSpec], conn: Connection, resend: Bool = false, create: Bool = false) -> Bool {
        guard let f = faults.first(where: { responseFaultNames.contains($0.name) }) else { return false }
        switch f.name {
        case "429":
            var headers: [(String, String)] = []
            if config.retryAfter && f.string("retry_after", "") != "off" {
                headers.append(("retry-after", f.string("retry_after", "1")))
            }
            if resend {
                headers += resendLimitHeaders(remaining: 0)
                try? conn.respondJSON(429, resendTooManyRequests, headers: headers)
            } else {
                try? conn.respondJSON(429, canonicalError(OASMessage.tooManyRequests), headers: headers)
            }
        case "auth", "401", "402", "403":
            let status = f.name == "auth" ? f.int("status", create ? 402 : 401) : Int(f.name) ?? 401
            if resend {
                let name = status == 401 ? "missing_api_key" : "invalid_api_key"
                try? conn.respondJSON(status, resendError(status, name, "API key is invalid"))
            } else {
                let msg = status == 402 ? OASMessage.paymentRequired : status == 403 ? OASMessage.invalidProcessor : OASMessage.unauthorized
                try? conn.respondJSON(status, canonicalError(msg))
            }
        default:
            let status = f.name == "5xx" ? f.int("status", 500) : Int(f.name) ?? 500
            switch f.string("body", "json") {
            case "html":
                let html = "<html><head><title>\(status) \(reasonPhrase(status))</title></head><body><center><h1>\(status) \(reasonPhrase(status))</h1></center><hr><center>nginx</center></body></html>\n"
                try? conn.respond(status: status, headers: [("Content-Type", "text/html")], body: Data(html.utf8))
            case "empty":
                try? conn.respond(status: status)
            default:
                if resend {
                    try? conn.respondJSON(status, resendError(status, "internal_server_error", "An unexpected error occurred."))
                } else {
                    try? conn.respondJSON(status, canonicalError("Internal server error"))
                }
            }
        }
        return true
    }
}
