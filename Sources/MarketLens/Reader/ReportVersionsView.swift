import Foundation

/// What a report page, its Markdown download and its API answer say about the report's versions (issue 16):
/// which version it is, links to the others (and to comparing with them), a note when a newer one exists, and
/// the refresh button when anyone may refresh (or when a refresh is running, a link to it).
enum ReportVersionsView {
    /// The `versions` context of `templates/report-versions.mustache`.
    static func context(for report: Report, family: ReportFamily, refreshAfterDays days: Int,
                        now: Date = Date()) -> [String: Any] {
        let slug = report.slug ?? ""
        let number = report.version ?? 1
        let list: [[String: Any]] = family.versions.map { version in
            [
                "version": version.version,
                "slug": version.slug,
                "current": version.slug == slug,
                "completedText": ReaderDates.day(version.completedAt),
                "completedISO": ReaderDates.iso(version.completedAt),
                "compareHref": "/r/\(slug)/compare/\(version.slug)",
            ]
        }
        var values: [String: Any] = [
            "number": number,
            "count": max(family.versions.count, 1),
            "hasOthers": family.versions.count > 1,
            "list": list,
            "slug": slug,
            "stale": ReportVersions.isStale(newest: family.newest, now: now, refreshAfterDays: days),
            "days": days,
        ]
        if let newest = family.versions.last, newest.version > number {
            values["newer"] = ["slug": newest.slug, "version": newest.version,
                               "completedText": ReaderDates.day(newest.completedAt)] as [String: Any]
        }
        if let running = family.running { values["running"] = running }
        if let newest = family.newest {
            values["allowedText"] = ReaderDates.day(newest.addingTimeInterval(Double(days) * 86_400))
        }
        return values
    }

    /// The front matter's version block of the `.md` download.
    static func markdownVersions(for report: Report, family: ReportFamily, baseURL: String)
        -> ReportMarkdownExport.Versions
    {
        ReportMarkdownExport.Versions(
            version: report.version ?? 1, family: family.publicID,
            all: family.versions.map {
                .init(version: $0.version, id: $0.publicID, url: ReaderLinks.reportURL(baseURL: baseURL, slug: $0.slug))
            })
    }
}
