import Foundation

/// What a run is about, extracted from its input as plain text.
struct Topic: Sendable {
    var industry: String
    var region: String
    var hostile: Bool

    init(input: JSON, hostile: Bool) {
        self.hostile = hostile
        var industry: String?
        var region: String?
        switch input {
        case let .string(s):
            for line in s.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                if key == "industry" || key == "topic" || key == "company" { industry = value }
                if key == "region" || key == "geography" || key == "country" { region = value }
            }
            if industry == nil {
                let first = s.split(whereSeparator: \.isNewline).first.map(String.init) ?? s
                industry = String(first.prefix(80))
            }
        case let .object(pairs):
            for (k, v) in pairs {
                let key = k.lowercased()
                let value = v.stringValue ?? v.compact
                if ["industry", "topic", "company_name", "company", "name"].contains(key), industry == nil { industry = value }
                if ["region", "geography", "country", "market"].contains(key), region == nil { region = value }
            }
        default: break
        }
        func clean(_ s: String?) -> String? {
            guard let s else { return nil }
            let t = s.replacingOccurrences(of: "sim:hostile", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
            return t.isEmpty ? nil : t
        }
        self.industry = clean(industry) ?? "General"
        self.region = clean(region) ?? "Global"
    }

    var title: String { "\(industry) Market in \(region)" }
}

/// Payloads for security tests; rendered unescaped anywhere would be an XSS.
enum Hostile {
    static let script = "<script>alert(1)</script>"
    static let img = "<img src=x onerror=alert(1)>"
    static let svg = "\"><svg onload=alert(1)>"
    static let jsLink = "[click here](javascript:alert(1))"
    static let jsURL = "javascript:alert(1)"
    static let all = "\(script) \(img) \(svg) \(jsLink)"
}

/// Deterministic canned content for a run.
struct ContentGenerator {
    var rng: SeededRNG
    let topic: Topic
    /// The run's own variation of the figures (`marketFigures`), from the report the run is for
    /// (`metadata.report_id`): two runs of one request are two versions of a report, and their figures must differ
    /// as a real market's do between two research runs. 0 (no report id): the figures follow from the request
    /// alone, which keeps the content deterministic per request for every other caller.
    var runVariation: UInt64 = 0

    init(seed: UInt64, key: String, topic: Topic) {
        self.rng = SeededRNG(seed: seed ^ fnv1a(key))
        self.topic = topic
    }

    static let publishers = ["Global Industry Observatory", "Market Insights Quarterly", "Trade Statistics Office",
                             "Sector Analytics Review", "Annual Filings Digest", "Regional Economic Monitor",
                             "Industry Association Yearbook", "Capital Markets Briefing"]
    static let players = ["Northwind Holdings", "Contoso Group", "Fabrikam Industries", "Tailspin Partners",
                          "Litware Systems", "Adventure Works", "Wide World Importers", "Proseware Inc.",
                          "Alpine Ski House", "Woodgrove Capital", "Lucerne Logistics", "Coho Ventures"]

    var slug: String {
        let s = topic.industry.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(String(s).split(separator: "-").joined(separator: "-").prefix(40))
    }

    /// One web source: where it is, what it is called, a passage from it.
    struct Source {
        var url: String
        var title: String
        var excerpt: String
    }

    /// Sources numbered `first…first+n-1`; the number is part of the URL, so different numbers never collide.
    mutating func sources(_ n: Int, from first: Int = 1) -> [Source] {
        (first..<(first + n)).map { i in
            let pub = rng.pick(ContentGenerator.publishers)
            var url = "https://\(pub.lowercased().replacingOccurrences(of: " ", with: "-")).example.org/\(slug)/report-\(2023 + i % 3)-\(i)"
            var title = "\(pub): \(topic.industry) outlook \(2024 + i % 2)"
            var excerpt = "The \(topic.industry.lowercased()) market in \(topic.region) grew by \(rng.int(3, 14)).\(rng.int(0, 9))% year on year, according to \(pub)."
            if topic.hostile {
                if i == 1 { url = Hostile.jsURL }
                if i == 2 { url = "https://evil.example.org/\"><script>alert(1)</script>" }
                title += " " + Hostile.script
                excerpt += " " + Hostile.img + " " + Hostile.svg
            }
            return Source(url: url, title: title, excerpt: excerpt)
        }
    }

    /// Basis citations (`{url, title, excerpts}`) for `sources`.
    static func citations(_ sources: [Source]) -> [JSON] {
        sources.map { .object([("url", .string($0.url)), ("title", .string($0.title)), ("excerpts", .array([.string($0.excerpt)]))]) }
    }

    mutating func citations(_ n: Int) -> [JSON] { Self.citations(sources(n)) }

    /// The text-output Markdown report, citing `[1]`…`[n]` (also as `[1, 3]`, `[2][4]` and `[1–3]`), without
    /// its reference section.
    mutating func report(citationCount n: Int) -> String {
        let t = topic
        let size = Double(rng.int(80, 900)) / 10
        let cagr = Double(rng.int(35, 140)) / 10
        var players = ContentGenerator.players
        for i in stride(from: players.count - 1, to: 0, by: -1) { players.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let figures = marketFigures(size: size, cagr: cagr, players: Array(players.prefix(6)), baseYear: MarketFigures.currentYear())
        let hostileLine = t.hostile ? "\n\n\(Hostile.all)\n\n<a href=\"javascript:alert(1)\">details</a>\n" : ""
        var md = "# \(t.title): Market Research Report\(t.hostile ? " " + Hostile.script : "")\n\n"
        md += "## Executive Summary\n\nThe \(t.industry.lowercased()) market in \(t.region) was worth an estimated USD \(fmt(figures.size)) billion in \(figures.baseYear) [1] and is expected to grow at a CAGR of \(fmt(figures.cagr))% through \(figures.lastYear) [2]. Consolidation among the leading players and rising demand from mid-sized buyers are the main forces shaping the market [1, 3].\(hostileLine)\n\n"
        md += "## Market Size\n\n" + figures.sizeTable
        md += "\nFigures for \(figures.baseYear + 1) and later (marked F) are forecasts [2][4].\n\n"
        md += "## Growth Drivers\n\n"
        md += "- **Digital adoption**: buyers in \(t.region) are moving procurement online, shortening sales cycles [3].\n"
        md += "- **Regulation**: new reporting rules favour established, compliant providers [4].\n"
        md += "- **Capital inflows**: private equity invested heavily in \(t.industry.lowercased()) since 2023 [5].\n"
        md += "- **Cost pressure**: automation lowers unit costs by an estimated \(rng.int(8, 25))% [\(min(6, n))].\n\n"
        md += "## Competitive Landscape\n\n" + figures.shareTable
        md += "\nThe top five players hold roughly \(fmt(figures.topFiveShare))% of the market; the rest is fragmented among regional specialists [3].\n\n"
        md += "## Regional Analysis\n\n\(t.region) accounts for a growing share of global demand. Northern sub-markets are the most mature, while southern and eastern sub-markets show the fastest growth [4]. Price levels differ by up to \(rng.int(10, 35))% between sub-markets [1].\n\n"
        md += "## Risks\n\n1. Macroeconomic slowdown reducing discretionary spend [2].\n2. Supply-chain disruption and input-cost inflation [5].\n3. Regulatory change increasing compliance costs [4].\n\n"
        md += "## Outlook\n\nWe expect the \(t.industry.lowercased()) market in \(t.region) to reach about USD \(fmt(figures.forecastSize)) billion by \(figures.lastYear), with mergers and acquisitions continuing among mid-tier players [\(min(6, n))]. Analysts broadly agree on this trajectory [1–3].\n"
        if t.hostile { md += "\n[Read more](javascript:alert(1)) \(Hostile.svg)\n" }
        return md
    }

    /// The report's figures as Markdown tables: the market size by year (three years to `baseYear`, five
    /// forecast years after it, marked `F`) with a CAGR row, and the market shares of `players` (adding up to
    /// less than 100 %, the rest being smaller players). The one place the simulated figures come from, so
    /// they can be varied or fixed here alone. Hostile topics put markup into the share table.
    mutating func marketFigures(size: Double, cagr: Double, players: [String], baseYear: Int) -> MarketFigures {
        // Each run moves the base size by up to ±12 % and the CAGR by up to ±1.5 points, never to zero: the
        // same request researched again states other, nearby figures.
        var size = size
        var cagr = cagr
        var shareScale = 1.0
        if runVariation != 0 {
            var variation = SeededRNG(seed: runVariation)
            let percent = variation.int(3, 12) * (variation.int(0, 1) == 0 ? -1 : 1)
            size = (size * (1 + Double(percent) / 100) * 10).rounded() / 10
            cagr = max(0.5, cagr + Double(variation.int(-15, 15)) / 10)
            shareScale = 1 + Double(variation.int(-10, 10)) / 100
        }
        var table = "| Year | Market size (USD bn) | Growth (%) |\n|---|---:|---:|\n"
        var value = size
        var rows: [(Int, Double, Double)] = []
        // Walk back from the base year, then forward, each year's growth close to the CAGR.
        for year in stride(from: baseYear, through: baseYear - 2, by: -1) {
            let growth = cagr + Double(rng.int(-15, 15)) / 10
            rows.insert((year, value, growth), at: 0)
            value /= 1 + growth / 100
        }
        value = size
        for year in (baseYear + 1)...(baseYear + 5) {
            let growth = cagr + Double(rng.int(-10, 10)) / 10
            value *= 1 + growth / 100
            rows.append((year, value, growth))
        }
        for (year, size, growth) in rows {
            table += "| \(year)\(year > baseYear ? "F" : "") | \(fmt(size)) | \(fmt(growth)) |\n"
        }
        let forecastSize = rows.last?.1 ?? size
        let realised = pow(forecastSize / size, 1 / 5.0) - 1
        table += "| CAGR \(baseYear)–\(baseYear + 5) | | \(fmt(realised * 100))% |\n"
        var shares = "| Rank | Company | Est. share (%) | Headquarters |\n|---:|---|---:|---|\n"
        var share = Double(rng.int(120, 220)) / 10 * shareScale
        var listed: [Double] = []
        for (i, player) in players.enumerated() {
            let name = player + (topic.hostile && i == 0 ? " " + Hostile.img : "")
            shares += "| \(i + 1) | \(name) | \(fmt(share)) | \(rng.pick(["Berlin", "London", "New York", "Singapore", "Paris", "Toronto", "Tokyo"])) |\n"
            listed.append((share * 10).rounded() / 10)
            share *= 0.78
        }
        return MarketFigures(
            baseYear: baseYear, size: size, cagr: (realised * 1000).rounded() / 10, forecastSize: forecastSize,
            sizeTable: table, shareTable: shares, topFiveShare: listed.prefix(5).reduce(0, +))
    }

    /// The text output as Parallel's deep research writes it: the report with inline markers and its own
    /// reference section at its end ("the most relevant citations are included at the base of the report
    /// itself, with inline references"), and a basis of one `output` entry listing every site visited, in an
    /// order unrelated to the markers, more sites than the report cites.
    mutating func textOutput(processor: String, references requested: ReferenceForm?) -> JSON {
        let n = 6
        let cited = sources(n)
        let visited = sources(rng.int(4, 9), from: n + 1)
        let form = requested ?? rng.pick(ReferenceForm.allCases)
        var md = report(citationCount: n)
        md += form.section(for: cited, heading: rng.pick(ReferenceForm.headings))
        var all = cited + visited
        for i in stride(from: all.count - 1, to: 0, by: -1) { all.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var reasoning = "Synthesised from trade-body statistics, company filings and market reports covering \(topic.title)."
        if topic.hostile { reasoning += " " + Hostile.script }
        let basis: JSON = .object([("field", "output"), ("reasoning", .string(reasoning)),
                                   ("citations", .array(Self.citations(all))), ("confidence", "high")])
        return .object([("type", "text"), ("content", .string(md)), ("basis", .array([basis])),
                        ("mcp_tool_calls", .null), ("beta_fields", .null)])
    }

    /// JSON output: one FieldBasis per top-level field; for an auto-schema run also one per nested field, named
    /// by dot path (`market_size.value_usd_billions`: "in auto mode, the basis maps each output field including
    /// nested fields"); with the `field-basis-2025-11-25` beta also one per element of each list field
    /// (`key_players.0`, `key_players.1`), as docs.parallel.ai task-api/guides/access-research-basis describes.
    mutating func jsonOutput(schema: JSON, outputSchema: JSON, perElement: Bool = false) -> JSON {
        let content = SchemaValues.value(for: schema, name: "", depth: 0, gen: &self)
        let nested = !outputSchema.isNull
        var basis: [JSON] = []
        func walk(_ value: JSON, path: String, gen: inout ContentGenerator) {
            basis.append(gen.fieldBasis(path))
            if nested, let fields = value.objectValue {
                for (key, child) in fields { walk(child, path: path + "." + key, gen: &gen) }
            }
            if perElement, !path.contains("."), let items = value.arrayValue {
                for index in items.indices { basis.append(gen.fieldBasis("\(path).\(index)")) }
            }
        }
        for (k, v) in content.objectValue ?? [] { walk(v, path: k, gen: &self) }
        return .object([("type", "json"), ("content", content), ("basis", .array(basis)), ("output_schema", outputSchema),
                        ("mcp_tool_calls", .null), ("beta_fields", .null)])
    }

    /// One FieldBasis for `field`: reasoning, one or two citations, a confidence.
    mutating func fieldBasis(_ field: String) -> JSON {
        var reasoning = "Derived from \(rng.int(2, 6)) sources about \(topic.title)."
        if topic.hostile { reasoning += " " + Hostile.img }
        return .object([("field", .string(field)), ("reasoning", .string(reasoning)),
                        ("citations", .array(citations(rng.int(1, 2)))),
                        ("confidence", .string(rng.pick(["high", "medium"])))])
    }

    /// The schema an auto-schema run "infers" (with a nested object, as deep-research auto output has).
    static let autoSchema: JSON = .object([
        ("type", "object"),
        ("properties", .object([
            ("market_summary", .object([("type", "string"), ("description", "Summary of the market")])),
            ("market_size", .object([
                ("type", "object"),
                ("properties", .object([
                    ("value_usd_billions", .object([("type", "number")])),
                    ("year", .object([("type", "integer")])),
                    ("scope", .object([("type", "string")])),
                ])),
                ("required", ["value_usd_billions", "year", "scope"]),
                ("additionalProperties", false),
            ])),
            ("cagr_percent", .object([("type", "number")])),
            ("key_players", .object([("type", "array"), ("items", .object([("type", "string")]))])),
            ("growth_drivers", .object([("type", "array"), ("items", .object([("type", "string")]))])),
        ])),
        ("required", ["market_summary", "market_size", "cagr_percent", "key_players", "growth_drivers"]),
        ("additionalProperties", false),
    ])

    mutating func sentence(for name: String) -> String {
        let n = name.lowercased()
        var s: String
        if n.contains("url") || n.contains("website") || n.contains("link") {
            s = "https://www.\(slug.isEmpty ? "example" : slug).example.com/"
        } else if n.contains("date") || n.hasSuffix("_at") {
            s = "2025-0\(rng.int(1, 9))-1\(rng.int(0, 9))"
        } else if n.contains("country") || n.contains("region") || n.contains("geograph") {
            s = topic.region
        } else if n.contains("name") || n.contains("company") || n.contains("player") || n.contains("competitor") {
            s = rng.pick(ContentGenerator.players)
        } else if n.contains("size") || n.contains("revenue") || n.contains("value") {
            s = "USD \(rng.int(5, 95)).\(rng.int(0, 9)) billion (2025)"
        } else {
            s = "\(topic.industry) in \(topic.region): \(rng.pick(["steady growth", "rapid consolidation", "strong demand", "rising competition", "margin pressure"])) observed in 2025."
        }
        if topic.hostile { s += " " + Hostile.script }
        return s
    }

    /// Progress messages for the trace: (kind, message).
    mutating func progressMessages(count: Int) -> [(String, String)] {
        let t = topic
        var out: [(String, String)] = [("exec_status", "Starting research on \(t.title)"),
                                       ("plan", "Plan: size the \(t.industry.lowercased()) market, identify leading players, map growth drivers and risks in \(t.region).")]
        let middle: [(String, String)] = [
            ("search", "Searching for \"\(t.industry) market size \(t.region) 2025\""),
            ("search", "Searching for \"top \(t.industry.lowercased()) companies \(t.region) market share\""),
            ("extract", "Extracting figures from industry association yearbook"),
            ("tool_call", "Calling web_fetch on 6 candidate sources"),
            ("result", "Found market size estimates from 4 independent sources"),
            ("search", "Searching for \"\(t.industry) mergers acquisitions since 2023\""),
            ("extract", "Extracting competitor revenue from annual filings"),
            ("result", "Reconciled growth estimates; CAGR range narrowed"),
            ("tool_call", "Calling web_fetch on regulatory publications"),
        ]
        while out.count < count - 1 { out.append(middle[(out.count - 2) % middle.count]) }
        out.append(("exec_status", "Compiling the final report"))
        if t.hostile { out = out.map { ($0.0, $0.1 + " " + Hostile.all) } }
        return Array(out.prefix(max(1, count)))
    }

    func sampleURLs(_ n: Int) -> [JSON] {
        (0..<n).map { i in
            if topic.hostile && i == 0 { return .string(Hostile.jsURL) }
            return .string("https://\(ContentGenerator.publishers[i % ContentGenerator.publishers.count].lowercased().replacingOccurrences(of: " ", with: "-")).example.org/\(slug)/\(i + 1)")
        }
    }
}

func fmt(_ d: Double) -> String { String(format: "%.1f", d) }

/// What `ContentGenerator.marketFigures` produced: the tables and the numbers the report's prose repeats.
struct MarketFigures {
    var baseYear: Int
    var size: Double
    /// The CAGR from the base year to the last forecast year, in percent (as the table states it).
    var cagr: Double
    var forecastSize: Double
    var sizeTable: String
    var shareTable: String
    var topFiveShare: Double

    var lastYear: Int { baseYear + 5 }

    /// The current UTC year: reports complete now, so later years are forecasts.
    static func currentYear() -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        return calendar.component(.year, from: Date())
    }
}
