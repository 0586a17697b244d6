import Foundation
import Logging
import Postgres
import Web
@testable import MarketLens

/// Completed reports inserted straight into a migrated schema, and an app to request pages from.
enum ReaderFixtures {
    struct Inserted {
        var id: Int64
        var publicID: String
        var slug: String
    }

    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let basis = """
        [{"field":"output","reasoning":"Synthesised from trade-body statistics.","confidence":"high",
          "citations":[{"url":"https://www.example-industry.org/report-2025","title":"Cold chain outlook 2025",
                        "excerpts":["The European cold chain market reached EUR 52bn."]},
                       {"url":"https://stats.example.com:8443/table?id=7","title":null,"excerpts":null}]}]
        """

    static let content = """
        # Cold-Chain Logistics: Market Research Report

        ## Executive Summary

        The market was worth EUR 52bn in 2025 [1] and grows 6% a year [2].

        ## Market Size

        | Year | Size |
        |---|---:|
        | 2025 | 52 |

        ### Forecast

        Growth continues [1].

        ## References

        1. Cold chain outlook 2025. https://www.example-industry.org/report-2025
        2. National freight statistics. https://freight.example.gov/2025
        """

    /// Inserts a completed report and returns its ids.
    @discardableResult
    static func insertCompleted(
        on connection: Connection, industry: String = "Cold-chain logistics", region: String = "European Union",
        title: String? = nil, content: String = content, basis: String? = basis, visibility: String = "public",
        hidden: Bool = false, completedAt: Date = Date(), email: String? = nil, slug: String? = nil
    ) throws -> Inserted {
        let publicID = ReportIDs.make()
        let slug = slug ?? "r-" + publicID.replacingOccurrences(of: "_", with: "-").lowercased()
        let row = try connection.queryFirst(
            """
            INSERT INTO reports (public_id, title, slug, industry, region, processor, status, content, basis,
                                 visibility, hidden, email, created_at, started_at, completed_at)
            VALUES (\(publicID), \(title ?? industry + " Market Research Report"), \(slug), \(industry), \(region),
                    'ultra2x', 'completed', \(content), \(basis.map(PostgresJSON.init)), \(visibility), \(hidden),
                    \(email), \(completedAt.addingTimeInterval(-1200)), \(completedAt.addingTimeInterval(-1190)),
                    \(completedAt))
            RETURNING id
            """)
        return Inserted(id: try row?.int64("id") ?? -1, publicID: publicID, slug: slug)
    }

    /// An app whose request threads use the database at `url` and the repository's templates.
    static func app(databaseURL url: String) throws -> MarketLensApp {
        let configuration = try AppConfiguration(environment: [
            "DATABASE_URL": url, "MARKETLENS_ROOT": root, "BASE_URL": "https://reports.example.test",
        ])
        var logger = Logger(label: "reader-tests")
        logger.logLevel = .critical
        return try MarketLensApp(configuration: configuration, logger: logger)
    }

    /// Sends a GET through the app's router, as the worker would.
    static func get(_ app: MarketLensApp, _ target: String, headers: HTTPHeaders = [:]) throws -> (Response, String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let request = Request(
            method: "GET", path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "", headers: headers)
        let response = try app.makeHandler().handle(request)
        guard case .bytes(let bytes) = response.body else { return (response, "") }
        return (response, String(decoding: bytes, as: UTF8.self))
    }
}

/// Checks that HTML can run nothing: a small tag scanner (quoted attribute values are skipped as values, so
/// escaped text inside them cannot fool it) looking for script elements other than the page's own static
/// script, event-handler attributes, and script-capable URLs in `href`/`src`/`action`/`formaction`.
enum InertHTML {
    static let allowedScripts: Set<String> = ["/static/js/report.js", "/static/js/app.js", "/static/js/csrf-form.js"]

    static func problems(in html: String) -> [String] {
        var problems: [String] = []
        let scalars = Array(html.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "<" else { i += 1; continue }
            i += 1
            var name = ""
            while i < scalars.count, scalars[i].properties.isAlphabetic || ("0"..."9").contains(scalars[i]) {
                name.unicodeScalars.append(scalars[i])
                i += 1
            }
            guard !name.isEmpty else { continue }
            name = name.lowercased()
            var attributes: [(String, String)] = []
            while i < scalars.count, scalars[i] != ">" {
                if scalars[i].properties.isWhitespace || scalars[i] == "/" { i += 1; continue }
                var attribute = ""
                while i < scalars.count, !scalars[i].properties.isWhitespace, scalars[i] != "=", scalars[i] != ">" {
                    attribute.unicodeScalars.append(scalars[i])
                    i += 1
                }
                var value = ""
                if i < scalars.count, scalars[i] == "=" {
                    i += 1
                    if i < scalars.count, scalars[i] == "\"" || scalars[i] == "'" {
                        let quote = scalars[i]
                        i += 1
                        while i < scalars.count, scalars[i] != quote {
                            value.unicodeScalars.append(scalars[i])
                            i += 1
                        }
                        i += 1
                    } else {
                        while i < scalars.count, !scalars[i].properties.isWhitespace, scalars[i] != ">" {
                            value.unicodeScalars.append(scalars[i])
                            i += 1
                        }
                    }
                }
                attributes.append((attribute.lowercased(), value))
            }
            for (attribute, value) in attributes {
                if attribute.hasPrefix("on") { problems.append("<\(name) \(attribute)=…>") }
                if ["href", "src", "action", "formaction", "xlink:href", "data"].contains(attribute) {
                    let decoded = value.replacingOccurrences(of: "&#x27;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
                    let scheme = String(decoded.unicodeScalars.filter { $0.value > 0x20 }.prefix(12)).lowercased()
                    if scheme.hasPrefix("javascript:") || scheme.hasPrefix("data:") || scheme.hasPrefix("vbscript:")
                        || scheme.hasPrefix("&#")
                    {
                        problems.append("<\(name) \(attribute)=\"\(value)\">")
                    }
                }
            }
            if name == "script" {
                let src = attributes.first { $0.0 == "src" }?.1 ?? ""
                if !allowedScripts.contains(src) { problems.append("<script src=\"\(src)\">") }
            }
            if ["iframe", "object", "embed", "svg", "math", "base", "style"].contains(name) {
                problems.append("<\(name)>")
            }
        }
        return problems
    }
}
