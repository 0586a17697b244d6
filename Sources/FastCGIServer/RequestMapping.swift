import Web

/// Turns FastCGI params (CGI variables as nginx's `fastcgi_params` sends them) into a `Web.Request`.
enum RequestMapping {
    /// The request without its body. Never fails: missing params get neutral defaults.
    static func request(from params: [String: String]) -> Request {
        let method = (params["REQUEST_METHOD"].flatMap { $0.isEmpty ? nil : $0 } ?? "GET").uppercased()
        // REQUEST_URI is the raw, still percent-encoded target; DOCUMENT_URI ($uri) is already decoded and
        // normalised by nginx, so it is only the fallback.
        let uri = params["REQUEST_URI"] ?? ""
        let uriParts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var path = uriParts.first.map(String.init) ?? ""
        if path.isEmpty { path = params["DOCUMENT_URI"] ?? "" }
        if path.isEmpty { path = "/" }
        let query = params["QUERY_STRING"] ?? (uriParts.count > 1 ? String(uriParts[1]) : "")

        var headers = HTTPHeaders()
        for name in params.keys.sorted() where name.hasPrefix("HTTP_") {
            if name == "HTTP_CONTENT_TYPE" || name == "HTTP_CONTENT_LENGTH" { continue }
            guard let value = params[name] else { continue }
            headers.add(headerName(fromParam: name), value)
        }
        if let type = params["CONTENT_TYPE"] ?? params["HTTP_CONTENT_TYPE"], !type.isEmpty {
            headers.add("Content-Type", type)
        }
        if let length = params["CONTENT_LENGTH"] ?? params["HTTP_CONTENT_LENGTH"], !length.isEmpty {
            headers.add("Content-Length", length)
        }

        let https = (params["HTTPS"] ?? "").lowercased()
        let secure = (!https.isEmpty && https != "off") || params["REQUEST_SCHEME"]?.lowercased() == "https"
        return Request(
            method: method, path: path, query: query, headers: headers,
            remoteAddress: params["REMOTE_ADDR"] ?? "", scheme: secure ? "https" : "http",
            requestID: requestID(params["REQUEST_ID"]))
    }

    /// `HTTP_X_FORWARDED_FOR` → `X-Forwarded-For`.
    static func headerName(fromParam name: String) -> String {
        name.dropFirst(5).split(separator: "_", omittingEmptySubsequences: false)
            .map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }
            .joined(separator: "-")
    }

    /// The declared body length: nil when absent, `.invalid` when not a non-negative decimal number.
    static func contentLength(_ params: [String: String]) -> ContentLength {
        guard let text = params["CONTENT_LENGTH"], !text.isEmpty else { return .absent }
        guard text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(text) else {
            return .invalid
        }
        return .declared(value)
    }

    enum ContentLength: Equatable {
        case absent, invalid, declared(Int)
    }

    /// nginx's `$request_id` when it looks like one (so it is safe to log), otherwise a fresh random id.
    static func requestID(_ given: String?) -> String {
        if let given, (1...64).contains(given.utf8.count), given.utf8.allSatisfy(isIDByte) { return given }
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }
}
