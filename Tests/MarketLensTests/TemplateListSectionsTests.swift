import Foundation
import Testing
@testable import MarketLens

/// Each list section of the pages, rendered with and without items (issue 12: `{{#latest.0}}` was always false
/// because swift-mustache cannot index an array, so the home page and /batch always said "nothing yet").
@Suite struct TemplateListSectionsTests {
    static let renderer: PageRenderer? = try? PageRenderer(directory: PageRendererTests.templates)

    struct Section: Sendable, CustomStringConvertible {
        var template: String
        var key: String
        var item: [String: String]
        var shown: String
        var emptyText: String
        var description: String { "\(template).\(key)" }
    }

    static let sections: [Section] = [
        Section(template: "home", key: "inProgress", item: ["id": "rpt_x1", "label": "Quillwork – Nordics", "state": "running"],
                shown: #"<a href="/reports/rpt_x1">Quillwork – Nordics</a>"#, emptyText: "No research is running right now."),
        Section(template: "home", key: "latest",
                item: ["slug": "quillwork-1", "title": "Quillwork Market Research Report", "completedISO": "2026-12-01",
                       "completedDate": "1 Dec 2026"],
                shown: #"<a href="/r/quillwork-1">Quillwork Market Research Report</a>"#,
                emptyText: "No reports yet. Yours could be the first."),
        Section(template: "batch", key: "recent", item: ["id": "bat_x1", "goal": "Find quill makers", "status": "completed", "domains": "2"],
                shown: #"<a href="/batch/bat_x1">Find quill makers</a>"#, emptyText: "No batches yet."),
    ]

    @Test(arguments: sections)
    func aListWithItemsShowsThemAndNotTheEmptyMessage(_ section: Section) throws {
        let renderer = try #require(Self.renderer)
        let html = try renderer.render(section.template, ["title": "t", "csrfToken": "c", section.key: [section.item]])
        #expect(html.contains(section.shown), "\(section) does not list its item")
        #expect(!html.contains(section.emptyText), "\(section) says it is empty beside an item")
    }

    @Test(arguments: sections)
    func anEmptyListSaysSo(_ section: Section) throws {
        let renderer = try #require(Self.renderer)
        let html = try renderer.render(section.template, ["title": "t", "csrfToken": "c", section.key: [[String: String]]()])
        #expect(html.contains(section.emptyText), "\(section) shows no empty message")
        #expect(!html.contains(section.shown))
    }

    /// No template, page or e-mail, tests an array element by index: it would never be true.
    @Test func noTemplateIndexesAnArray() throws {
        let root = URL(fileURLWithPath: PageRendererTests.templates)
        let files = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        let indexed = try Regex(#"\{\{\s*[#^/]?\s*[A-Za-z_][A-Za-z0-9_.]*\.[0-9]+\s*\}\}"#)
        var checked = 0
        for case let file as URL in files where file.pathExtension == "mustache" {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains(indexed), "\(file.lastPathComponent) indexes an array")
            checked += 1
        }
        #expect(checked >= 10)
    }

    @Test func theBatchFormOffersVisibilityUnlistedByDefault() throws {
        let renderer = try #require(Self.renderer)
        let unlisted = try renderer.render("batch", ["title": "t", "csrfToken": "c", "form": ["public": false]])
        #expect(unlisted.contains(#"value="unlisted" checked"#) && !unlisted.contains(#"value="public" checked"#))
        let chosen = try renderer.render("batch", ["title": "t", "csrfToken": "c", "form": ["public": true]])
        #expect(chosen.contains(#"value="public" checked"#) && !chosen.contains(#"value="unlisted" checked"#))
    }

    @Test func theLivePageShowsElapsedTimeAndTheProcessorsTypicalDuration() throws {
        let renderer = try #require(Self.renderer)
        let html = try renderer.render(
            "report-live",
            ["title": "t", "running": true, "report": ["id": "rpt_x1", "label": "Quillwork"], "elapsedSeconds": 125,
             "elapsed": LiveView.elapsedText(seconds: 125), "processor": "ultra2x",
             "typicalDuration": try #require(ConsoleProcessor.named("ultra2x")).latency])
        #expect(html.contains(#"<dd id="live-elapsed" data-elapsed-seconds="125">2 min 05 s</dd>"#))
        #expect(html.contains("5 – 50 min"))
        #expect(html.contains("(ultra2x processor)"))
    }

    @Test func elapsedTimeReadsLikeAClock() {
        #expect(LiveView.elapsedText(seconds: -3) == "0 s")
        #expect(LiveView.elapsedText(seconds: 59) == "59 s")
        #expect(LiveView.elapsedText(seconds: 60) == "1 min 00 s")
        #expect(LiveView.elapsedText(seconds: 3599) == "59 min 59 s")
        #expect(LiveView.elapsedText(seconds: 3600 + 125) == "1 h 02 min")
    }

    @Test func browserLineBreaksSeparateBatchDomains() {
        // Browsers submit a textarea's line breaks as CRLF.
        #expect(BatchPagesController.domainEntries("stripe.com\r\npaypal.com\nadyen.com, klarna.com\r\n")
            == ["stripe.com", "paypal.com", "adyen.com", "klarna.com"])
    }

    @Test func publicIDsCarryMoreThan128RandomBits() {
        let ids = (0..<200).map { _ in BatchStore.newPublicID() } + (0..<200).map { _ in ReportStore.newPublicID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let random = id.dropFirst(4)
            #expect(id.hasPrefix("bat_") || id.hasPrefix("rpt_"))
            // 36 possible characters each: log2(36) × 26 ≈ 134 bits.
            #expect(random.count >= 26 && random.allSatisfy { $0.isLowercase || $0.isNumber })
            #expect(Double(random.count) * log2(36) > 128)
        }
    }
}
