import Foundation
import ReportFigures
import Testing
@testable import UpstreamSim

@Suite("Pure helpers")
struct ContentAndRulesTests {
    @Test("JSON round-trips with key order, escapes and numbers intact")
    func jsonRoundTrip() throws {
        let text = #"{"b":1,"a":[true,null,2.5,"x\"y\n\u00e9"],"c":{"d":-3}}"#
        let v = try #require(JSON.parse(text))
        #expect(v.compact == #"{"b":1,"a":[true,null,2.5,"x\"y\n\#u{e9}"],"c":{"d":-3}}"#)
        #expect(JSON.parse("{\"a\":") == nil)
        #expect(JSON.parse("[1] x") == nil)
    }

    @Test("strings escape every control character, quote and backslash, and keep the rest as it is")
    func jsonStringEscapes() throws {
        let original = "plain \"q\" \\ tab\t cr\r\nlf \u{1}\u{1F} é 😀 e\u{301} end"
        let text = JSON.string(original).compact
        #expect(text == #""plain \"q\" \\ tab\t cr\r\nlf \u0001\u001f é 😀 e\#u{301} end""#)
        #expect(JSON.parse(text) == .string(original))
        #expect(JSON.string("").compact == #""""#)
    }

    @Test("fault specs parse names and parameters")
    func faultParsing() {
        let fs = FaultSpec.parseList("stream_drop;after=4;mode=rst,run_failed")
        #expect(fs.map(\.name) == ["stream_drop", "run_failed"])
        #expect(fs[0].int("after", 0) == 4 && fs[0].string("mode", "") == "rst")
    }

    @Test("the validation heuristic rejects placeholders and gibberish but accepts real industries")
    func judge() {
        let deny = SimConfig().denyList
        for bad in ["test", "asdf", "12345", "xkcdqwzt", "zzzzzz", "!!!", "Industry: asdfgh"] {
            #expect(!InputJudge.issues(bad, denyList: deny).isEmpty, "\(bad)")
        }
        for good in ["cold-chain logistics", "Industry: solar inverters\nGeography: EU", "AI chips"] {
            #expect(InputJudge.issues(good, denyList: deny).isEmpty, "\(good)")
        }
    }

    @Test("schema rules: errors for bad roots and keywords, warnings for loose schemas")
    func schemaRules() throws {
        #expect(SchemaRules.error(.object([("type", "array")])) != nil)
        let withMax = try #require(JSON.parse(#"{"type":"object","properties":{"a":{"type":"string","maxLength":3}}}"#))
        #expect(SchemaRules.error(withMax)?.contains("maxLength") == true)
        let loose = try #require(JSON.parse(#"{"type":"object","properties":{"a":{"type":"string"},"sources":{"type":"string"}},"required":["a"]}"#))
        #expect(SchemaRules.error(loose) == nil)
        #expect(SchemaRules.warnings(loose).count == 3)
    }

    @Test("PKCE S256 matches RFC 7636 appendix B")
    func pkce() {
        #expect(pkceS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test("content is deterministic per seed and input, and varies with the seed")
    func determinism() {
        let topic = Topic(input: .string("Industry: drones\nRegion: Asia"), hostile: false)
        var a = ContentGenerator(seed: 1, key: "k", topic: topic)
        var b = ContentGenerator(seed: 1, key: "k", topic: topic)
        var c = ContentGenerator(seed: 2, key: "k", topic: topic)
        let ra = a.report(citationCount: 6)
        #expect(ra == b.report(citationCount: 6))
        #expect(ra != c.report(citationCount: 6))
        #expect(ra.hasPrefix("# drones Market in Asia") && ra.contains("| Year |") && ra.contains("[1]"))
        #expect(!ra.contains("<script>"))
        var h = ContentGenerator(seed: 1, key: "k", topic: Topic(input: .string("Industry: drones sim:hostile"), hostile: true))
        #expect(h.report(citationCount: 6).contains("<script>alert(1)</script>"))
    }

    @Test("reports hold a market size table with forecasts and a CAGR, and a share table, that chart")
    func reportFigures() throws {
        let topic = Topic(input: .string("Industry: drones\nRegion: Asia"), hostile: false)
        var generator = ContentGenerator(seed: 7, key: "k", topic: topic)
        let report = generator.report(citationCount: 6)
        let year = MarketFigures.currentYear()
        let now = Date()
        let charts = ReportFigures.charts(inMarkdown: report, completedAt: now)
        let size = try #require(charts.first { $0.title == "Market size" })
        #expect(size.kind == .line && size.unit == "USD bn" && size.points.count == 8)
        #expect(size.points.filter(\.isForecast).map(\.label) == (1...5).map { "\(year + $0)F" })
        #expect(charts.contains { $0.kind == .bar && $0.title == "Growth" })
        let shares = try #require(charts.first { $0.kind == .share })
        #expect(shares.points.count == 7 && shares.points.last?.isRemainder == true)
        let figures = ReportFigures.keyFigures(inMarkdown: report, completedAt: now)
        #expect(figures.currentSize?.year == year && figures.forecastSize?.year == year + 5)
        let cagr = try #require(figures.cagr)
        #expect(report.contains("CAGR of \(String(format: "%.1f", cagr.value))%"))
        #expect(report.contains("USD \(String(format: "%.1f", figures.currentSize?.value ?? 0)) billion in \(year)"))
    }

    @Test("timestamps have microseconds and a Z suffix")
    func timestamps() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1767225600.5)) == "2026-01-01T00:00:00.500000Z")
    }
}
