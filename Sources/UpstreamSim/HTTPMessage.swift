import Foundation

/// One parsed HTTP/1.1 request.
struct HTTPRequest: Sendable {
    var method: String
    var target: String
    var path: String
    var query: [(String, String)]
    var headers: [(String, String)]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first(where: { $0.0.caseInsensitiveCompare(name) == .orderedSame })?.1
    }

    func queryValue(_ name: String) -> String? { query.first(where: { $0.0 == name })?.1 }

    var json: JSON? { body.isEmpty ? nil : JSON.parse(body) }

    /// Splits the target into a path and decoded query pairs.
    static func splitTarget(_ target: String) -> (String, [(String, String)]) {
        guard let q = target.firstIndex(of: "?") else { return (percentDecode(target), []) }
        let path = percentDecode(String(target[..<q]))
        return (path, parseForm(String(target[target.index(after: q)...])))
    }

    /// Parses `a=b&c=d` (application/x-www-form-urlencoded).
    static func parseForm(_ s: String) -> [(String, String)] {
        s.split(separator: "&", omittingEmptySubsequences: true).map { part in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = percentDecode(String(kv[0]).replacingOccurrences(of: "+", with: " "))
            let v = kv.count > 1 ? percentDecode(String(kv[1]).replacingOccurrences(of: "+", with: " ")) : ""
            return (k, v)
        }
    }

    static func percentDecode(_ s: String) -> String { s.removingPercentEncoding ?? s }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass through).
func percentEncode(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}

/// Reason phrases for the statuses the simulator sends.
func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 100: return "Continue"
    case 200: return "OK"
    case 201: return "Created"
    case 202: return "Accepted"
    case 204: return "No Content"
    case 302: return "Found"
    case 400: return "Bad Request"
    case 401: return "Unauthorized"
    case 402: return "Payment Required"
    case 403: return "Forbidden"
    case 404: return "Not Found"
    case 405: return "Method Not Allowed"
    case 408: return "Request Timeout"
    case 409: return "Conflict"
    case 422: return "Unprocessable Entity"
    case 429: return "Too Many Requests"
    case 500: return "Internal Server Error"
    case 502: return "Bad Gateway"
    case 503: return "Service Unavailable"
    case 504: return "Gateway Timeout"
    default: return "Status"
    }
}
