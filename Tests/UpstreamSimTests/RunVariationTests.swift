import Foundation
import ReportFigures
import Testing
@testable import UpstreamSim

/// Two runs of one request are two versions of a report (issue 16): their figures differ, deterministically
/// from the run's report id (`metadata.report_id`), and each report's prose still states its own tables' figures.
@Suite struct RunVariationTests {
    static func report(variation: UInt64) -> String {
        let topic = Topic(input: .string("Industry: drones\nRegion: Asia"), hostile: false)
        var generator = ContentGenerator(seed: 7, key: "same request", topic: topic)
        generator.runVariation = variation
        return generator.report(citationCount: 6)
    }

    @Test func theSameRequestInAnotherRunStatesOtherFigures() throws {
        let first = Self.report(variation: fnv1a("rpt_a"))
        let again = Self.report(variation: fnv1a("rpt_a"))
        let second = Self.report(variation: fnv1a("rpt_b"))
        #expect(first == again)
        let now = Date()
        let a = ReportFigures.keyFigures(inMarkdown: first, completedAt: now)
        let b = ReportFigures.keyFigures(inMarkdown: second, completedAt: now)
        let sizeA = try #require(a.currentSize?.value)
        let sizeB = try #require(b.currentSize?.value)
        #expect(sizeA != sizeB)
        #expect(abs(sizeA - sizeB) / sizeA < 0.3, "a refresh moves the figures, it does not invent another market")
        for (report, size) in [(first, sizeA), (second, sizeB)] {
            #expect(report.contains("USD \(String(format: "%.1f", size)) billion"))
        }
    }

    @Test func withoutARunTheFiguresFollowFromTheRequestAlone() {
        #expect(Self.report(variation: 0) == Self.report(variation: 0))
        #expect(Self.report(variation: 0) != Self.report(variation: fnv1a("rpt_a")))
    }
}
