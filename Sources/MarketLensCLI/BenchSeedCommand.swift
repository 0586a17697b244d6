import ArgumentParser
import Foundation
import MarketLens
import Postgres

/// `marketlens bench-seed`: fills the library with realistic completed reports for benchmarks (hidden from help).
/// The rows are generated inside PostgreSQL (`generate_series`), so 10,000 multi-KB reports take seconds.
/// Idempotent: ids are `rpt_bench<n>`, and existing ones are skipped.
struct BenchSeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-seed",
        abstract: "Insert realistic completed public reports for benchmarks (development only).",
        shouldDisplay: false)

    @Option(help: "How many reports (1 to 1000000).")
    var count = 10_000

    func validate() throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be from 1 to 1000000") }
    }

    static let industries = [
        "Cold-chain logistics", "Battery recycling", "Vertical farming", "Dental clinics", "Plant-based dairy",
        "Industrial robotics", "Pet insurance", "Offshore wind", "Cybersecurity training", "Craft breweries",
        "Electric bus manufacturing", "Telehealth platforms", "Specialty coffee", "Data center cooling",
        "Green hydrogen", "Luxury watches", "Edtech tutoring", "Solar inverters", "Last-mile delivery",
        "Semiconductor packaging", "Organic fertilizers", "Sports nutrition", "Elevator maintenance",
        "Wine e-commerce", "Drone inspection services", "Carbon credit trading", "Modular housing",
        "Veterinary diagnostics", "Bike sharing", "Precision agriculture",
    ]
    static let regions = [
        "European Union", "United States", "Germany", "Japan", "Brazil", "India", "Nordics", "Southeast Asia",
        "United Kingdom", "Canada", "Australia", "Middle East", "",
    ]

    func run() throws {
        let (configuration, _) = try CommandEnvironment.load()
        let connection = try Connection(url: configuration.databaseURL)
        let bar = ProgressBar(total: count, label: "seeding")
        let batch = 500
        var inserted = 0
        var start = 1
        while start <= count {
            let end = min(count, start + batch - 1)
            inserted += try connection.execute(Self.insert(from: start, to: end))
            for _ in start...end { bar.advance() }
            start = end + 1
        }
        bar.finish()
        // VACUUM as well as ANALYZE: the visibility map it sets is what lets the library's counts read their
        // indexes alone (index-only scans), as they do once autovacuum has passed over a live library.
        _ = try connection.execute("VACUUM (ANALYZE) reports")
        Console.line("Inserted \(inserted) report(s) (\(count - inserted) already present).")
    }

    static func sqlArray(_ values: [String]) -> String {
        "ARRAY[" + values.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ",") + "]"
    }

    static func insert(from start: Int, to end: Int) -> Query {
        let industries = sqlArray(Self.industries)
        let regions = sqlArray(Self.regions)
        let players = sqlArray([
            "Northwind Holdings", "Contoso Group", "Fabrikam Industries", "Tailspin Partners", "Litware Systems",
            "Adventure Works", "Wide World Importers", "Proseware Inc.", "Alpine Ski House", "Woodgrove Capital",
        ])
        let drivers = sqlArray([
            "digital procurement", "stricter regulation", "private equity inflows", "automation", "energy prices",
            "urbanisation", "subscription models", "supply-chain reshoring", "consumer health awareness",
            "public subsidies",
        ])
        return """
            INSERT INTO reports (public_id, title, slug, industry, region, focus, processor, status, content, basis,
                                 visibility, created_at, started_at, completed_at)
            SELECT 'rpt_bench' || lpad(g::text, 8, '0'),
                   x.ind || CASE WHEN x.reg = '' THEN '' ELSE ' in ' || x.reg END || ': Market Research Report',
                   left(trim(BOTH '-' FROM regexp_replace(lower(x.ind || ' ' || x.reg), '[^a-z0-9]+', '-', 'g')), 80)
                       || '-b' || g,
                   x.ind, x.reg, 'market size, growth drivers, top players', 'ultra2x', 'completed',
                   '# ' || x.ind || ': Market Research Report' || E'\\n\\n## Executive Summary\\n\\n'
                   || 'The ' || lower(x.ind) || ' market in ' || coalesce(nullif(x.reg, ''), 'the world')
                   || ' was worth an estimated USD ' || (20 + g % 880) / 10.0 || ' billion in 2025 [1] and is expected to '
                   || 'grow at a CAGR of ' || (30 + g % 110) / 10.0 || '% through 2030 [2]. Demand is shaped by '
                   || x.d1 || ' and ' || x.d2 || ', while consolidation among the leading players continues [3].'
                   || E'\\n\\n## Market Size\\n\\n| Year | Market size (USD bn) | Growth (%) |\\n|---|---:|---:|\\n'
                   || (SELECT string_agg('| ' || y || ' | ' || round(((20 + g % 880) / 10.0 * power(1.05, y - 2025))::numeric, 1)
                          || ' | ' || round((3 + (g + y) % 9 + 0.5)::numeric, 1) || ' |', E'\\n')
                       FROM generate_series(2021, 2030) y)
                   || E'\\n\\nFigures for 2026 and later are forecasts [2].\\n\\n## Growth Drivers\\n\\n'
                   || '- **' || initcap(x.d1) || '**: buyers move procurement online and shorten sales cycles [3].' || E'\\n'
                   || '- **' || initcap(x.d2) || '**: new rules favour established, compliant providers [4].' || E'\\n'
                   || '- **Capital inflows**: investors backed ' || lower(x.ind) || ' heavily since 2023 [5].'
                   || E'\\n\\n## Competitive Landscape\\n\\n| Rank | Company | Share (%) |\\n|---:|---|---:|\\n'
                   || (SELECT string_agg('| ' || k || ' | ' || (\(unescaped: players))[1 + (g + k * 3) % 10] || ' | '
                          || (30 - k * 4 + g % 3) || ' |', E'\\n') FROM generate_series(1, 6) k)
                   || E'\\n\\nThe top five players hold roughly ' || (35 + g % 25) || '% of the market [3]. '
                   || repeat('Regional sub-markets differ in maturity: northern markets are saturated while southern and '
                             || 'eastern ones grow fastest, driven by ' || x.d1 || ' and rising adoption among mid-sized '
                             || 'buyers [4]. Pricing varies by up to ' || (10 + g % 25) || '% between sub-markets [1]. ', 6)
                   || E'\\n\\n## Risks\\n\\n1. Macroeconomic slowdown [2].\\n2. Input-cost inflation [5].\\n'
                   || E'3. Regulatory change [4].\\n\\n## Outlook\\n\\nWe expect continued growth with selective M&A [6].\\n',
                   jsonb_build_array(jsonb_build_object(
                       'field', 'output', 'confidence', (ARRAY['high','medium','low'])[1 + g % 3],
                       'reasoning', 'Synthesised from trade-body statistics, filings and market reports on ' || x.ind || '.',
                       'citations', (SELECT jsonb_agg(jsonb_build_object(
                           'url', 'https://source' || c || '.example.org/' || g || '/report-' || c,
                           'title', CASE WHEN c = 4 THEN NULL ELSE x.ind || ' outlook, source ' || c END,
                           'excerpts', jsonb_build_array('The market grew ' || (3 + (g + c) % 11) || '% year on year.')))
                           FROM generate_series(1, 6) c))),
                   'public', x.t - interval '20 minutes', x.t - interval '19 minutes', x.t
            FROM generate_series(\(start)::int, \(end)::int) AS g,
                 LATERAL (SELECT (\(unescaped: industries))[1 + g % \(Self.industries.count)] AS ind,
                                 (\(unescaped: regions))[1 + (g / 7) % \(Self.regions.count)] AS reg,
                                 (\(unescaped: drivers))[1 + g % 10] AS d1,
                                 (\(unescaped: drivers))[1 + (g / 3 + 5) % 10] AS d2,
                                 now() - g * interval '37 minutes' - (g % 60) * interval '1 second' AS t) AS x
            ON CONFLICT (public_id) DO NOTHING
            """
    }
}
