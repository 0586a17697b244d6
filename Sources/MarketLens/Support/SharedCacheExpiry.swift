import Foundation
import Web

/// How long nginx's page cache (`fastcgi_cache`, see nginx/page_cache.conf.template) may serve a response, told
/// through `X-Accel-Expires` (nginx reads it and never passes it to the browser).
///
/// A public answer to a GET or HEAD may be served until the end of the wall-clock second in which its request
/// started (`@<unix second>`: nginx's cache validity has 1-second resolution, and `fastcgi_cache_valid 1s`
/// would keep a page up to 2 s). The app's own caches expire at the same moment (`CacheExpiry.endOfSecond`),
/// so a page is never older than a second, on any host, without purging anything. Everything else (private,
/// `no-store`, a cookie being set, an error, a POST) is marked `0`: never stored, whatever nginx's config says.
enum SharedCacheExpiry {
    /// The `X-Accel-Expires` value for `response` to `request`, which started at `started`.
    static func header(for response: Response, request: Request, started: Date) -> String {
        guard request.method == "GET" || request.method == "HEAD", response.status == 200,
            response.headers["Set-Cookie"] == nil,
            let cacheControl = response.headers["Cache-Control"]?.lowercased(),
            cacheControl.contains("public"),
            !["private", "no-store", "no-cache"].contains(where: cacheControl.contains)
        else { return "0" }
        return "@\(Int64(started.timeIntervalSince1970.rounded(.down)))"
    }
}
