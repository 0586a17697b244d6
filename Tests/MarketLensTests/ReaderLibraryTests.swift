import Foundation
import Postgres
import Testing
import TestSupport
import Web
@testable import MarketLens

/// The library and the list API against real PostgreSQL: search, ranking, filters, pagination, visibility.
@Suite(.enabled(if: TestDatabase.isEnabled, "needs TEST_DATABASE_URL"))
struct ReaderLibraryTests {
    func query(_ string: String) throws -> LibraryQuery { try LibraryQuery(form: URLEncodedForm(parsing: string)) }

    @Test func searchFindsByIndustryWordAndByContentWordAndRanksTitleHitsFirst() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let battery = try ReaderFixtures.insertCompleted(on: connection, industry: "Battery recycling")
            let other = try ReaderFixtures.insertCompleted(
                on: connection, industry: "Cold-chain logistics",
                content: "# X\n\n## Summary\n\nWarehouses now reuse battery packs from zanzibarite vehicles [1].")
            try ReaderFixtures.insertCompleted(on: connection, industry: "Dental clinics", content: "# D\n\nTeeth.")

            let byIndustry = try LibrarySearch.page(query("q=recycling"), on: connection)
            #expect(byIndustry.map(\.id) == [battery.id])

            let byContent = try LibrarySearch.page(query("q=zanzibarite"), on: connection)
            #expect(byContent.map(\.id) == [other.id])
            let hits = byContent.first?.snippet.filter(\.isHit).map { $0.text.lowercased() }
            #expect(hits == ["zanzibarite"], "the snippet marks the matched word")

            // "battery" is in one report's title and industry, in the other's body only.
            let ranked = try LibrarySearch.page(query("q=battery"), on: connection)
            #expect(ranked.map(\.id) == [battery.id, other.id])
            #expect(try LibrarySearch.count(query("q=battery"), on: connection) == 2)
            #expect(try LibrarySearch.page(query("q=%22cold+chain%22+-battery"), on: connection).isEmpty)
            #expect(try LibrarySearch.page(query("q=nosuchwordanywhere"), on: connection).isEmpty)
        }
    }

    @Test func filtersByExactRegionAndByCompletionDays() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let day: (String) -> Date = { LibraryDay($0)?.start.addingTimeInterval(12 * 3600) ?? Date() }
            let eu = try ReaderFixtures.insertCompleted(on: connection, region: "European Union", completedAt: day("2025-03-10"))
            let euLate = try ReaderFixtures.insertCompleted(on: connection, region: "European Union", completedAt: day("2025-06-30"))
            let asia = try ReaderFixtures.insertCompleted(on: connection, region: "Asia", completedAt: day("2025-03-10"))
            try ReaderFixtures.insertCompleted(on: connection, region: "", completedAt: day("2024-01-01"))

            #expect(try LibrarySearch.page(query("region=European+Union"), on: connection).map(\.id) == [euLate.id, eu.id])
            #expect(try LibrarySearch.page(query("region=European"), on: connection).isEmpty, "regions match exactly")
            #expect(try LibrarySearch.page(query("from=2025-03-10&to=2025-03-10"), on: connection).map(\.id).sorted() == [eu.id, asia.id].sorted())
            #expect(try LibrarySearch.page(query("from=2025-03-11"), on: connection).map(\.id) == [euLate.id])
            #expect(try LibrarySearch.page(query("to=2025-03-09"), on: connection).count == 1)
            #expect(try LibrarySearch.regions(on: connection) == ["Asia", "European Union"])
            #expect(try LibrarySearch.page(query("sort=oldest"), on: connection).first?.region == "")
        }
    }

    @Test func pagesAndCursorsVisitEveryReportOnceEvenWithEqualTimes() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let base = Date(timeIntervalSince1970: 1_760_000_000.123456)
            var expected: [Int64] = []
            for index in 0..<45 {
                // Groups of three share a completion time, so only the id orders them.
                let at = base.addingTimeInterval(Double(index / 3) * 60)
                expected.append(try ReaderFixtures.insertCompleted(on: connection, completedAt: at).id)
            }
            try ReaderFixtures.insertCompleted(on: connection, visibility: "unlisted")
            try ReaderFixtures.insertCompleted(on: connection, hidden: true)

            var seen: [Int64] = []
            for page in 1...3 {
                seen += try LibrarySearch.page(query("page=\(page)"), on: connection).map(\.id)
            }
            #expect(try LibrarySearch.page(query("page=4"), on: connection).isEmpty)
            let newestFirst = try connection.query(
                "SELECT id FROM reports WHERE visibility = 'public' AND NOT hidden ORDER BY completed_at DESC, id DESC"
            ).map { try $0.int64("id") }
            #expect(seen == newestFirst)
            #expect(Set(seen) == Set(expected))
            #expect(try LibrarySearch.count(query(""), on: connection) == 45)

            var cursor: ReportCursor?
            var viaAPI: [Int64] = []
            for _ in 0..<20 {
                let page = try ReportListing.page(ReportListRequest(cursor: cursor, limit: 7), on: connection)
                viaAPI += page.items.map(\.id)
                guard let next = page.nextCursor else { break }
                cursor = ReportCursor(encoded: next)
            }
            #expect(viaAPI == newestFirst, "keyset pages neither skip nor repeat, even within one microsecond")
        }
    }

    /// The unfiltered total is counted from the family index, not by listing: it must still say exactly how many
    /// entries the library lists, whatever mix of versions, hidden and unlisted ones the families hold.
    @Test func theUnfilteredTotalIsTheNumberOfListedEntries() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            func family(_ ids: [Int64]) throws {
                for (index, id) in ids.enumerated() {
                    try connection.execute("UPDATE reports SET family_id = \(ids[0]), version = \(index + 1) WHERE id = \(id)")
                }
            }
            let three = try (0..<3).map { _ in try ReaderFixtures.insertCompleted(on: connection).id }
            try family(three)
            let newestHidden = try (0..<2).map { _ in try ReaderFixtures.insertCompleted(on: connection).id }
            try family(newestHidden)
            try connection.execute("UPDATE reports SET hidden = true WHERE id = \(newestHidden[1])")
            let allUnlisted = try ReaderFixtures.insertCompleted(on: connection, visibility: "unlisted").id
            try family([allUnlisted])
            let unnumbered = try (0..<2).map { _ in try ReaderFixtures.insertCompleted(on: connection).id }
            try family(unnumbered)
            try connection.execute("UPDATE reports SET version = NULL WHERE id = \(unnumbered[1])")
            try ReaderFixtures.insertCompleted(on: connection)
            _ = try MigratedDatabase.insertReport(on: connection, industry: "Queued, not listed")

            var listed: [Int64] = []
            for page in 1...3 { listed += try LibrarySearch.page(query("page=\(page)"), on: connection).map(\.id) }
            // One entry for the family of three, one for the family whose newest is hidden, two for the family
            // whose newer version lost its number, one for the lone report.
            #expect(listed.count == 5)
            #expect(try LibrarySearch.count(query(""), on: connection) == listed.count)
            #expect(try LibrarySearch.count(query("sort=oldest"), on: connection) == listed.count)
        }
    }

    @Test func hiddenAndUnlistedReportsStayOutOfTheLibrary() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            let listed = try ReaderFixtures.insertCompleted(on: connection, industry: "Quokka tourism")
            try ReaderFixtures.insertCompleted(on: connection, industry: "Quokka tourism", visibility: "unlisted")
            try ReaderFixtures.insertCompleted(on: connection, industry: "Quokka tourism", hidden: true)
            _ = try MigratedDatabase.insertReport(on: connection, industry: "Quokka tourism")  // queued, not done
            #expect(try LibrarySearch.page(query("q=quokka"), on: connection).map(\.id) == [listed.id])
            #expect(try LibrarySearch.count(query("q=quokka"), on: connection) == 1)
            #expect(try ReportListing.page(ReportListRequest(text: "quokka"), on: connection).items.map(\.id) == [listed.id])
        }
    }

    @Test func libraryPageRendersResultsCountAndFilterKeepingLinks() throws {
        try MigratedDatabase.with { url in
            let connection = try Connection(url: url)
            for index in 0..<23 {
                try ReaderFixtures.insertCompleted(
                    on: connection, industry: "Vertical farming", region: index % 2 == 0 ? "Nordics" : "Iberia",
                    content: "# V\n\n## Summary\n\nVertical farming grows fast [1].")
            }
            let app = try ReaderFixtures.app(databaseURL: url)
            let (response, html) = try ReaderFixtures.get(app, "/library?q=farming&region=Nordics")
            #expect(response.status == 200)
            #expect(html.contains("12 reports found"))
            #expect(html.contains("<mark>farming</mark>") || html.contains("<mark>Farming</mark>"))
            #expect(html.contains(#"<option value="Nordics" selected>"#))
            let (all, allHTML) = try ReaderFixtures.get(app, "/library")
            #expect(all.status == 200)
            #expect(allHTML.contains("23 reports"))
            #expect(allHTML.contains(#"href="/library?page=2""#))
            let (second, secondHTML) = try ReaderFixtures.get(app, "/library?region=Iberia&sort=oldest&page=2")
            #expect(second.status == 200)
            #expect(secondHTML.contains("There are no more results"))
            let (bad, badHTML) = try ReaderFixtures.get(app, "/library?page=zero")
            #expect(bad.status == 400)
            #expect(badHTML.contains("Page must be a number"))
            let (empty, emptyHTML) = try ReaderFixtures.get(app, "/library?q=nothingmatchesthis")
            #expect(empty.status == 200)
            #expect(emptyHTML.contains("No reports match your search."))
        }
    }
}
