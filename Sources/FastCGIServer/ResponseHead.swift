import Web

/// The CGI response head libfcgi expects on stdout: `Status: NNN Reason`, the header fields, a blank line.
enum ResponseHead {
    /// Serialises `status` and `headers`, dropping fields whose name is not an HTTP token and stripping CR, LF
    /// and NUL from values, so a handler can never split the response.
    static func encode(status: Int, headers: HTTPHeaders) -> [UInt8] {
        var text = "Status: \(status) \(reasonPhrase(status))\r\n"
        for (name, value) in headers where isToken(name) && name.lowercased() != "status" {
            let clean = value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }
            text += "\(name): \(String(String.UnicodeScalarView(clean)))\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Statuses that must not carry a body or `Content-Length`.
    static func forbidsBody(_ status: Int) -> Bool { status < 200 || status == 204 || status == 304 }

    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (33...126).contains(byte) && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
        }
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 308: "Permanent Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}
