import Foundation
import Testing
import Web
import ReportFigures
@testable import MarketLens

/// The compare page's diff (issue 16): words and lines, sections matched by heading, and the page escaping
/// whatever the reports contain.
@Suite struct SectionDiffTests {
    @Test func unchangedTextIsOnePiece() {
        #expect(TextDiff.words("The market grew.", "The market grew.") == [.same("The market grew.")])
        #expect(TextDiff.lines("a\nb\n", "a\nb") == [.same("a"), .same("b")])
    }

    @Test func aChangedFigureIsMarkedAsOneDeletionAndOneInsertion() {
        let pieces = TextDiff.words("Market size was USD 12.3 bn in 2024.", "Market size was USD 13.1 bn in 2024.")
        #expect(pieces == [.same("Market size was USD "), .deleted("12.3"), .inserted("13.1"), .same(" bn in 2024.")])
    }

    @Test func aReplacedPhraseReadsAsOneChangeNotAlternatingWords() {
        let pieces = TextDiff.words("growth is slow and steady today", "growth is fast but volatile today")
        #expect(pieces == [.same("growth is "), .deleted("slow and steady"), .inserted("fast but volatile"),
                           .same(" today")])
    }

    @Test func insertionsAndDeletionsAtTheEnds() {
        #expect(TextDiff.words("", "new words") == [.inserted("new words")])
        #expect(TextDiff.words("old words", "") == [.deleted("old words")])
        #expect(TextDiff.words("one", "one two") == [.same("one"), .inserted(" two")])
    }

    @Test func joiningAWordDiffGivesBothTextsBack() {
        let old = "Shares: Acme 31%, Globex 24%, Initech 12%; others 33%."
        let new = "Shares: Acme 29%, Globex 26%, Hooli 9%, Initech 11%; others 25%."
        let pieces = TextDiff.words(old, new)
        let before = pieces.map { piece -> String in
            switch piece {
            case .same(let text), .deleted(let text): text
            case .inserted: ""
            }
        }.joined()
        let after = pieces.map { piece -> String in
            switch piece {
            case .same(let text), .inserted(let text): text
            case .deleted: ""
            }
        }.joined()
        #expect(before == old)
        #expect(after == new)
    }

    @Test func similarLinesAreChangedInPlaceDissimilarOnesReplaced() {
        let lines = TextDiff.lines("keep\n| 2024 | 12.3 |\ntotally different words here\n",
                                   "keep\n| 2024 | 13.1 |\nnothing in common at all\n")
        #expect(lines.first == .same("keep"))
        guard lines.count == 4, case .changed(let pieces) = lines[1] else {
            Issue.record("expected a changed table row, got \(lines)")
            return
        }
        #expect(pieces.contains(.deleted("12.3")) && pieces.contains(.inserted("13.1")))
        #expect(lines[2] == .deleted("totally different words here"))
        #expect(lines[3] == .inserted("nothing in common at all"))
    }

    @Test func hugeInputsFallBackToWholeReplacementInsteadOfAQuadraticTable() {
        let old = (0..<3_000).map { "a\($0)" }.joined(separator: "\n")
        let new = (0..<3_000).map { "b\($0)" }.joined(separator: "\n")
        let lines = TextDiff.lines(old, new)
        #expect(lines.count == 6_000)
        #expect(lines.allSatisfy { if case .same = $0 { false } else { true } })
    }

    @Test func sectionsAreCutAtHeadingsButNotInsideCodeFences() {
        let sections = SectionDiff.sections(of: """
            Intro line.

            # Title
            ## Market size ##
            Text.
            ```
            # not a heading
            ```
            ###Not a heading either
            """)
        #expect(sections.map(\.heading) == ["", "Title", "Market size"])
        #expect(sections.map(\.level) == [0, 1, 2])
        #expect(sections[2].body.contains("# not a heading"))
        #expect(sections[2].body.contains("###Not a heading either"))
        #expect(sections[1].body == "")
    }

    @Test func sectionsAreAddedRemovedChangedOrUnchanged() {
        let old = """
            # Widgets Market
            ## Overview
            The widget market is large.
            ## Market size
            USD 12.3 bn in 2024.
            ## Regulation
            Few rules apply.
            """
        let new = """
            # Widgets Market
            ## overview
            The widget market is large.
            ## Market size
            USD 13.1 bn in 2024.
            ## Outlook
            Growth continues.
            """
        let result = SectionDiff.compare(old: old, new: new)
        #expect(result.added.map(\.heading) == ["Outlook"])
        #expect(result.removed.map(\.heading) == ["Regulation"])
        #expect(result.changed.map(\.heading) == ["Market size"])
        #expect(result.unchangedCount == 2)  // the title and "Overview" (matched whatever its case)
        #expect(result.changed.first?.lines == [.changed([.same("USD "), .deleted("12.3"), .inserted("13.1"),
                                                          .same(" bn in 2024.")])])
    }

    @Test func repeatedHeadingsMatchInOrder() {
        let old = "## Outlook\nA\n## Outlook\nB\n"
        let new = "## Outlook\nA\n## Outlook\nC\n"
        let result = SectionDiff.compare(old: old, new: new)
        #expect(result.unchangedCount == 1)
        #expect(result.changed.count == 1)
        #expect(result.added.isEmpty && result.removed.isEmpty)
    }

    @Test func theComparePageEscapesWhatTheReportsSay() throws {
        let renderer = try PageRenderer(directory: PageRendererTests.templates)
        let changed = SectionDiff.Changed(heading: "<script>alert(1)</script>", lines: [
            .changed([.same("a "), .deleted("<b>old</b>"), .inserted("<img src=x onerror=alert(1)>")]),
        ])
        let html = try renderer.render("compare", [
            "title": "t", "older": ["version": 1, "slug": "a"], "newer": ["version": 2, "slug": "b"],
            "changed": [ComparePage.changedContext(changed)], "hasChanged": true,
        ] as [String: Any])
        #expect(!html.contains("<script>alert(1)</script>"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains("<del>&lt;b&gt;old&lt;/b&gt;</del>"))
        #expect(html.contains("<ins>&lt;img src=x onerror=alert(1)&gt;</ins>"))
        #expect(html.contains("Legend:"))
    }
}

/// The compare page's key figures: both values and the change, never a change between unlike figures.
@Suite struct CompareFiguresTests {
    typealias Figure = KeyFigures.Figure

    static func figure(_ value: Double, _ unit: String, year: Int? = 2025) -> Figure {
        Figure(value: value, unit: unit, year: year, label: "x", tableIndex: 0, tableAnchor: "table-1")
    }

    @Test func sizesChangeByAmountAndPercentRatesByPoints() {
        #expect(ComparePage.change(from: Self.figure(12.3, "USD bn"), to: Self.figure(13.1, "USD bn"))
                    .hasPrefix("+"))
        #expect(ComparePage.change(from: Self.figure(12.3, "USD bn"), to: Self.figure(13.1, "USD bn"))
                    .hasSuffix("(+6.5%)"))
        #expect(ComparePage.change(from: Self.figure(8, "%"), to: Self.figure(7.5, "%")) == "−0.5 percentage points")
        #expect(ComparePage.change(from: Self.figure(8, "%"), to: Self.figure(8, "%")) == "unchanged")
        #expect(ComparePage.change(from: Self.figure(8, "%"), to: Self.figure(8, "USD bn")) == "—")
        #expect(ComparePage.change(from: nil, to: Self.figure(8, "%")) == "—")
    }

    @Test func rowsOnlyForFiguresEitherVersionStates() {
        let rows = ComparePage.keyFigureRows(
            older: KeyFigures(currentSize: Self.figure(10, "USD bn")),
            newer: KeyFigures(currentSize: Self.figure(11, "USD bn"), cagr: Self.figure(5, "%")),
            olderSlug: "a", newerSlug: "b")
        #expect(rows.map { $0["name"] as? String } == ["Market size", "CAGR"])
        #expect(rows[0]["changed"] as? Bool == true)
        #expect(rows[1]["hasBefore"] as? Bool == false)
        #expect((rows[1]["after"] as? [String: Any])?["href"] as? String == "/r/b#table-1")
    }
}
