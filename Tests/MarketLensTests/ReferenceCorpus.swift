/// Report endings in the shapes Parallel's deep research writes them (and the odd ones real reports contain),
/// each with its basis and what a reader must see: which numbers link where, and what else was consulted.
enum ReferenceCorpus {
    struct Case: CustomStringConvertible {
        var name: String
        var content: String
        /// The run's basis (`FieldBasis` JSON).
        var basis: String
        /// The numbered references expected: number, URL ("" for none), title.
        var references: [(Int, String, String)]
        /// The numbers whose markers in the body must link (every other marker stays text).
        var linked: Set<Int>
        /// URLs of the other sources consulted, in order.
        var consulted: [String]
        var description: String { name }
    }

    /// The basis of a text run: one `output` entry listing every site visited, unrelated to the numbering.
    static func basis(_ citations: [(String, String?)]) -> String {
        let items = citations.map { url, title in
            #"{"url":"\#(url)","title":\#(title.map { "\"\($0)\"" } ?? "null"),"excerpts":["From \#(url)"]}"#
        }
        return #"[{"field":"output","reasoning":"Read widely.","confidence":"high","citations":["#
            + items.joined(separator: ",") + "]}]"
    }

    static let body = """
        # Cold Chain

        ## Summary

        The market reached USD 52bn [1] and grows 6% [2]. Leaders consolidate [1, 3].

        ## Outlook

        Growth continues [3][1] through 2030 [1\u{2013}3].


        """

    static let visited = basis([
        ("https://c.example/3", "Basis C"), ("https://z.example/other", "Other site"), ("https://www.a.example/1/", "Basis A"),
        ("https://b.example/2", nil), ("https://y.example/more", nil),
    ])

    static let abc: [(Int, String, String)] = [
        (1, "https://a.example/1", "Alpha report"), (2, "https://b.example/2", "Beta survey"), (3, "https://c.example/3", "Gamma filings"),
    ]

    static let cases: [Case] = [
        Case(
            name: "numbered `1. Title. URL` under ## References", content: body + """
                ## References

                1. Alpha report. https://a.example/1
                2. Beta survey. https://b.example/2
                3. Gamma filings. https://c.example/3
                """, basis: visited, references: abc, linked: [1, 2, 3],
            consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "`[1] Title – URL` under ### sources, blank lines between", content: body + """
                ### sources

                [1] Alpha report \u{2013} https://a.example/1

                [2] Beta survey \u{2013} https://b.example/2

                [3] Gamma filings \u{2013} https://c.example/3
                """, basis: visited, references: abc, linked: [1, 2, 3],
            consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "`1. [Title](URL)` under # CITATIONS", content: body + """
                # CITATIONS
                1. [Alpha report](https://a.example/1)
                2. [Beta survey](https://b.example/2 "Beta")
                3. [Gamma filings](<https://c.example/3>)
                """, basis: visited, references: abc, linked: [1, 2, 3],
            consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "trailing bare URLs without a heading, titles from the basis", content: body + """
                https://a.example/1
                https://b.example/2
                <https://c.example/3>
                """, basis: visited,
            references: [(1, "https://a.example/1", "Basis A"), (2, "https://b.example/2", "b.example"), (3, "https://c.example/3", "Basis C")],
            linked: [1, 2, 3], consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "entries spanning lines, with Available at:", content: body + """
                ## Bibliography

                1. Alpha report,
                   Alpha Institute, 2025.
                   Available at: https://a.example/1
                2. Beta survey, Beta Office.
                   https://b.example/2.
                3. "Gamma filings."
                   Retrieved from https://c.example/3
                """, basis: visited,
            references: [
                (1, "https://a.example/1", "Alpha report, Alpha Institute, 2025"), (2, "https://b.example/2", "Beta survey, Beta Office"),
                (3, "https://c.example/3", "Gamma filings"),
            ], linked: [1, 2, 3], consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "bold heading with `- [n] Title: URL` bullets and link definitions", content: body + """
                **Sources:**
                - [1] Alpha report: https://a.example/1
                - [2] Beta survey: https://b.example/2
                [3]: https://c.example/3 "Gamma filings"
                """, basis: visited, references: abc, linked: [1, 2, 3],
            consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "numbers out of order", content: body + """
                ## References
                3. Gamma filings. https://c.example/3
                1. Alpha report. https://a.example/1
                2. Beta survey. https://b.example/2
                """, basis: visited, references: abc, linked: [1, 2, 3],
            consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "a marker pointing past the list stays text", content: body + """
                ## References
                1. Alpha report. https://a.example/1
                2. Beta survey. https://b.example/2
                """, basis: visited, references: Array(abc.prefix(2)), linked: [1, 2],
            consulted: ["https://c.example/3", "https://z.example/other", "https://y.example/more"]),
        Case(
            name: "duplicate URLs in the list", content: body + """
                ## References
                1. Alpha report. https://a.example/1
                2. Beta survey. https://b.example/2
                3. Alpha report, again. https://A.example/1/
                """, basis: visited,
            references: [(1, "https://a.example/1", "Alpha report"), (2, "https://b.example/2", "Beta survey"), (3, "https://A.example/1/", "Alpha report, again")],
            linked: [1, 2, 3], consulted: ["https://c.example/3", "https://z.example/other", "https://y.example/more"]),
        Case(
            name: "a References item in the table of contents and a code block", content: """
                # Cold Chain

                ## Table of Contents
                1. [Summary](#summary)
                2. [References](#references)

                ### References
                See the end of the report.

                ## Summary

                Size [1], growth [2], leaders [1, 3].

                ```
                ## References
                1. Fake. https://fake.example/
                ```

                ## References
                1. Alpha report. https://a.example/1
                2. Beta survey. https://b.example/2
                3. Gamma filings. https://c.example/3
                """, basis: visited, references: abc, linked: [1, 2, 3],
            consulted: ["https://z.example/other", "https://y.example/more"]),
        Case(
            name: "markers without a section: nothing links, the basis is consulted", content: body, basis: visited,
            references: [], linked: [],
            consulted: ["https://c.example/3", "https://z.example/other", "https://www.a.example/1/", "https://b.example/2", "https://y.example/more"]),
        Case(
            name: "numbered heading, unnumbered bullets, trailing note, URL with brackets", content: body + """
                ## 7. Sources

                - Alpha report \u{2014} https://a.example/1
                - Wikipedia: Cold chain https://en.wikipedia.org/wiki/Cold_chain_(logistics).
                - Gamma filings (https://c.example/3)

                All sources were accessed in December 2025.
                """, basis: visited,
            references: [
                (1, "https://a.example/1", "Alpha report"), (2, "https://en.wikipedia.org/wiki/Cold_chain_(logistics)", "Wikipedia: Cold chain"),
                (3, "https://c.example/3", "Gamma filings"),
            ], linked: [1, 2, 3], consulted: ["https://z.example/other", "https://b.example/2", "https://y.example/more"]),
        Case(
            name: "a final list without URLs is not a reference section", content: body + """
                ## Risks
                1. Slowdown [2].
                2. Regulation [9].
                """, basis: visited, references: [], linked: [],
            consulted: ["https://c.example/3", "https://z.example/other", "https://www.a.example/1/", "https://b.example/2", "https://y.example/more"]),
    ]
}
