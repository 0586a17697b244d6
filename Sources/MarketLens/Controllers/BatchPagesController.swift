import Foundation
import ParallelAPI
import Postgres
import Web

/// `/batch` pages: the screening form, a batch's live progress and results, and its downloads.
enum BatchPagesController {
    /// `GET /batch`.
    @Sendable static func form(_ request: Request, _ context: RequestContext) throws -> Response {
        let defaults = ["search_depth": "standard", "max_parallel_searches": "20", "confidence_threshold": "0.7",
                        "visibility": "unlisted"]
        return try renderForm(request, context, values: defaults, fields: [:], status: 200)
    }

    /// `POST /batch`: the form as a batch; 303 to its page, or the form again with each field's problem (422).
    @Sendable static func submit(_ request: Request, _ context: RequestContext) throws -> Response {
        let form = try request.form()
        try CSRF.standard.verify(request, formToken: form["csrf_token"])
        var values: [String: String] = [:]
        for name in ["research_goal", "company_domains", "search_depth", "max_parallel_searches", "confidence_threshold",
                     "visibility"] {
            values[name] = form[name] ?? ""
        }
        let parsed: BatchRequest
        do {
            parsed = try BatchRequest.parse(json: Array(try JSONEncoder().encode(formJSON(values))))
        } catch let error as HTTPError where error.status == 422 {
            var fields: [String: String] = [:]
            for (key, message) in error.fields {
                if key.hasPrefix("company_domains[") {
                    let index = Int(key.dropFirst("company_domains[".count).dropLast()) ?? 0
                    let entries = domainEntries(values["company_domains"] ?? "")
                    let name = index < entries.count ? entries[index] : "entry \(index + 1)"
                    fields["company_domains", default: ""] += "“\(BatchResearchSpec.clip(name, 60))” is not a domain name. "
                } else if fields[key] == nil {
                    fields[key] = "This field \(message)."
                }
            }
            return try renderForm(request, context, values: values, fields: fields, status: 422)
        }
        let limits = RateLimit.batchCreation(
            domains: parsed.companyDomains.count, client: request.remoteAddress, configuration: context.app.configuration)
        do {
            let batch = try context.database.withConnection { try BatchStore.create(parsed, limits: limits, on: $0) }
            return try Response.redirect(to: "/batch/\(batch.publicID)")
        } catch let limit as RateLimitExceeded {
            return try renderForm(request, context, values: values, fields: [:], error: limit.message, status: 429,
                                  headers: ["Retry-After": String(limit.retryAfter)])
        }
    }

    /// `GET /batch/{id}`: progress while running, the results table when done (server-rendered; JS adds live
    /// updates and sorting).
    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let batch = try BatchController.find(request, context)
        let document = try BatchDocument.load(batch, context)
        let sortByPosition = try request.queryValue("sort") == "position"
        var rows = document.results
        if !sortByPosition { rows.sort { ($0.confidence, -index(of: $0, in: document.results)) > ($1.confidence, -index(of: $1, in: document.results)) } }
        let finished = document.results.filter { $0.status != "queued" && $0.status != "running" }.count
        let percent = document.results.isEmpty ? 0 : finished * 100 / document.results.count
        let page: [String: Any] = [
            "title": "Batch screening \(batch.publicID)",
            "description": "Company screening results.",
            "nav": ["batch": true],
            "batch": [
                "id": batch.publicID, "goal": batch.researchGoal, "depth": batch.searchDepth,
                "processor": batch.processor, "threshold": format(batch.confidenceThreshold),
                "maxParallel": batch.maxParallel, "status": document.status, "error": document.error ?? "",
                "unlisted": batch.visibility != "public",
                "running": !(document.status == "completed" || document.status == "failed"),
                "completed": document.status == "completed", "failed": document.status == "failed",
                "finished": finished, "total": document.results.count, "percent": percent,
            ],
            "summary": [
                "analyzed": document.summary.domainsAnalyzed, "high": document.summary.highConfidenceMatches,
                "average": format(document.summary.avgConfidence), "evidence": document.summary.totalEvidence,
                "seconds": format(document.summary.processingTime),
                "qps": format(document.metrics.queriesPerSecond), "failedRequests": document.metrics.failedRequests,
            ],
            "sortByPosition": sortByPosition,
            "rows": rows.map { row(for: $0, threshold: batch.confidenceThreshold) },
        ]
        return try context.renderPage("batch_show", page)
    }

    /// `GET /batch/{id}.csv`: one line per domain.
    @Sendable static func csv(_ request: Request, _ context: RequestContext) throws -> Response {
        let batch = try BatchController.find(request, context)
        let document = try BatchDocument.load(batch, context)
        var lines = ["domain,status,matches,confidence,high_confidence,evidence_count,technologies,evidence_urls,summary,error"]
        for result in document.results {
            let fields: [String] = [
                result.domain, result.status, result.matches.map { $0 ? "true" : "false" } ?? "",
                format(result.confidence), result.status == "completed" && result.confidence >= batch.confidenceThreshold - 1e-9 ? "true" : "false",
                String(result.evidenceCount), result.technologies.joined(separator: "; "),
                result.evidence.map(\.url).joined(separator: " "), result.summary ?? "", result.error ?? "",
            ]
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        return Response(status: 200, contentType: "text/csv; charset=utf-8", text: lines.joined(separator: "\r\n") + "\r\n",
                        headers: ["Content-Disposition": "attachment; filename=\"\(batch.publicID).csv\""])
    }

    /// `GET /batch/{id}.json`: the API document as a download.
    @Sendable static func json(_ request: Request, _ context: RequestContext) throws -> Response {
        let batch = try BatchController.find(request, context)
        return try Response.json(try BatchDocument.load(batch, context))
            .addingHeader("Content-Disposition", "attachment; filename=\"\(batch.publicID).json\"")
    }

    // MARK: helpers

    static func renderForm(_ request: Request, _ context: RequestContext, values: [String: String],
                           fields: [String: String], error: String? = nil, status: Int,
                           headers: HTTPHeaders = [:]) throws -> Response {
        let token = CSRF.standard.token(for: request)
        let recent = (try? context.database.withConnection { try BatchStore.recent(on: $0) }) ?? []
        let depth = values["search_depth"] ?? "standard"
        var form: [String: Any] = ["values": values, "fields": fields, "hasErrors": !fields.isEmpty,
                                   "public": values["visibility"] == "public"]
        if let error { form["error"] = error }
        let page: [String: Any] = [
            "title": "Batch company screening",
            "description": "Screen up to 200 companies against one research goal.",
            "nav": ["batch": true],
            "csrfToken": token.value,
            "form": form,
            "depths": SearchDepth.allCases.map { ["value": $0.rawValue, "processor": $0.processor, "selected": $0.rawValue == depth] },
            "recent": recent.map {
                ["id": $0.publicID, "goal": BatchResearchSpec.clip($0.researchGoal, 90), "status": $0.status,
                 "domains": $0.domainCount] as [String: Any]
            },
        ]
        var response = try context.renderPage("batch", page, status: status)
        for (name, value) in headers { response.headers[name] = value }
        if let cookie = token.setCookie { response.headers.add("Set-Cookie", cookie) }
        return response
    }

    /// The form's fields as the JSON body the API takes (numbers stay strings when they do not parse, so the
    /// validator names them).
    static func formJSON(_ values: [String: String]) -> JSONValue {
        func number(_ text: String) -> JSONValue {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let whole = Int(trimmed) { return .integer(whole) }
            if let fraction = Double(trimmed), fraction.isFinite { return .number(fraction) }
            return trimmed.isEmpty ? .null : .string(trimmed)
        }
        return .object([
            "research_goal": .string(values["research_goal"] ?? ""),
            "company_domains": .array(domainEntries(values["company_domains"] ?? "").map { .string($0) }),
            "search_depth": .string(values["search_depth"] ?? ""),
            "max_parallel_searches": number(values["max_parallel_searches"] ?? ""),
            "confidence_threshold": number(values["confidence_threshold"] ?? ""),
            // An empty choice is the API's default (unlisted); anything else is checked by the API's parser.
            "visibility": (values["visibility"] ?? "").isEmpty ? .null : .string(values["visibility"] ?? ""),
        ])
    }

    /// Domains typed one per line (commas and spaces also separate them). Browsers send a textarea's line
    /// breaks as CRLF, which Swift reads as one `Character` that is neither "\r" nor "\n": hence `isNewline`.
    static func domainEntries(_ text: String) -> [String] {
        text.split(whereSeparator: { $0.isNewline || $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
    }

    static func row(for result: DomainResult, threshold: Double) -> [String: Any] {
        let done = result.status == "completed"
        return [
            "domain": result.domain, "status": result.status, "done": done,
            "failed": result.status == "failed" || result.status == "cancelled",
            "matches": result.matches == true, "confidence": done ? format(result.confidence) : "",
            "confidenceValue": result.confidence,
            "high": done && result.confidence >= threshold - 1e-9,
            "technologies": result.technologies.joined(separator: ", "),
            "evidence": result.evidence.prefix(5).map { ["url": $0.url, "label": BatchResearchSpec.clip($0.title ?? host(of: $0.url), 60)] },
            "evidenceCount": result.evidenceCount, "summary": result.summary ?? "", "error": result.error ?? "",
        ]
    }

    static func host(of url: String) -> String { URLComponents(string: url)?.host ?? url }

    static func index(of result: DomainResult, in results: [DomainResult]) -> Int {
        results.firstIndex { $0.domain == result.domain } ?? 0
    }

    static func format(_ value: Double) -> String {
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is neutralised so spreadsheets do not run it as a formula.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }
}
