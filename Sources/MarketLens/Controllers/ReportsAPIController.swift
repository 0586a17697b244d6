import Foundation
import Postgres
import ReportFigures
import Web

/// `GET /api/v1/reports` (public reports, keyset-paginated) and `GET /api/v1/reports/{id}` (one report's state).
enum ReportsAPIController {
    @Sendable static func list(_ request: Request, _ context: RequestContext) throws -> Response {
        let form = try request.queryItems
        let parameters = try ReportListRequest(form: form)
        let page = try context.database.withConnection(readOnly: true) { try ReportListing.page(parameters, on: $0) }
        let baseURL = context.app.configuration.baseURL
        let body = ReportListBody(
            reports: page.items.map { ReportSummaryBody(item: $0, baseURL: baseURL) },
            nextCursor: page.nextCursor)
        return try Response.json(body).cacheControl(.publicMaxAge(30))
    }

    @Sendable static func show(_ request: Request, _ context: RequestContext) throws -> Response {
        let id = request.parameters["id"] ?? ""
        let notFound = HTTPError(status: 404, code: "not_found", message: "No report has this id.")
        guard ReportStore.isPlausiblePublicID(id) else { throw notFound }
        let (report, family) = try context.database.withConnection(readOnly: true) { connection in
            let report = try ReportAccess.require(try ReportStore.find(publicID: id, on: connection),
                                                  message: notFound.message)
            return (report, try ReportFamily.load(for: report, on: connection))
        }
        var body = ReportStateBody(report: report, baseURL: context.app.configuration.baseURL)
        body.versions = ReportVersionsView.markdownVersions(
            for: report, family: family, baseURL: context.app.configuration.baseURL)
        return try Response.json(body)
    }
}

/// `GET /api/v1/reports/{id}`: never the e-mail address, never internal ids or leases.
struct ReportStateBody: Encodable {
    struct Progress: Encodable {
        var percent: Double
        var sourcesConsidered: Int
        var sourcesRead: Int
        enum CodingKeys: String, CodingKey {
            case percent, sourcesConsidered = "sources_considered", sourcesRead = "sources_read"
        }
    }

    var id: String
    var status: String
    var industry: String
    var region: String
    var visibility: String
    var createdAt: String
    var startedAt: String?
    var completedAt: String?
    var progress: Progress
    var error: String?
    var slug: String?
    var title: String?
    var url: String?
    var markdownURL: String?
    /// When complete: the report as written, its numbered references and the other sources consulted (the
    /// same `ReportCitations` the page and the `.md` download show).
    var markdown: String?
    var references: [ReferenceBody]?
    var consultedSources: [ReferenceBody]?
    /// The report's version, its family's id and the family's versions a reader of it may see (issue 16):
    /// `version` is null until the report completes.
    var versions: ReportMarkdownExport.Versions?
    var versionNumber: Int?
    /// When complete: the charts the page draws, as the values read from their tables, and the key figures.
    var charts: [ChartBody]?
    var keyFigures: KeyFiguresBody?

    init(report: Report, baseURL: String) {
        versionNumber = report.version
        id = report.publicID
        status = report.status.rawValue
        industry = report.industry
        region = report.region
        visibility = report.visibility
        createdAt = ReaderDates.iso(report.createdAt)
        startedAt = report.startedAt.map(ReaderDates.iso)
        completedAt = report.completedAt.map(ReaderDates.iso)
        progress = Progress(
            percent: report.status == .completed ? 100 : report.progressMeter,
            sourcesConsidered: report.sourcesConsidered, sourcesRead: report.sourcesRead)
        error = report.status == .failed ? report.error : nil
        if report.status == .completed, let slug = report.slug {
            self.slug = slug
            title = report.title
            url = ReaderLinks.reportURL(baseURL: baseURL, slug: slug)
            markdownURL = url.map { $0 + ".md" }
            let content = report.content ?? ""
            let citations = ReportCitations(content: content, basis: ReportBasis(json: report.basis?.text))
            markdown = content
            references = citations.references.map { ReferenceBody($0, numbered: true) }
            consultedSources = citations.consulted.map { ReferenceBody($0, numbered: false) }
            // The same body the page renders (without the reference list), so table indices and anchors agree.
            let body = citations.section.map { $0.removing(from: content) } ?? content
            let figures = ReportFigures.read(body, completedAt: report.completedAt)
            charts = figures.charts.map(ChartBody.init)
            keyFigures = KeyFiguresBody(figures.keyFigures)
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, status, industry, region, visibility, progress, error, slug, title, url
        case createdAt = "created_at", startedAt = "started_at", completedAt = "completed_at"
        case markdownURL = "markdown_url"
        case markdown, references, consultedSources = "consulted_sources", charts, keyFigures = "key_figures"
        case version, family, versions
    }

    /// `{version, id, url}` of one version.
    struct VersionBody: Encodable {
        var version: Int
        var id: String
        var url: String
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(status, forKey: .status)
        try container.encode(industry, forKey: .industry)
        try container.encode(region, forKey: .region)
        try container.encode(visibility, forKey: .visibility)
        try container.encode(createdAt, forKey: .createdAt)
        // Explicit nulls: clients can rely on every key being present.
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(completedAt, forKey: .completedAt)
        try container.encode(progress, forKey: .progress)
        try container.encode(error, forKey: .error)
        try container.encode(slug, forKey: .slug)
        try container.encode(title, forKey: .title)
        try container.encode(url, forKey: .url)
        try container.encode(markdownURL, forKey: .markdownURL)
        try container.encodeIfPresent(markdown, forKey: .markdown)
        try container.encodeIfPresent(references, forKey: .references)
        try container.encodeIfPresent(consultedSources, forKey: .consultedSources)
        try container.encodeIfPresent(charts, forKey: .charts)
        try container.encodeIfPresent(keyFigures, forKey: .keyFigures)
        if let versions {
            try container.encode(versionNumber, forKey: .version)
            try container.encode(versions.family, forKey: .family)
            try container.encode(versions.all.map { VersionBody(version: $0.version, id: $0.id, url: $0.url) },
                                 forKey: .versions)
        }
    }
}

/// One chart in `GET /api/v1/reports/{id}`: its kind (`line`, `bar`, `share`), the table it came from (index
/// from 0 and the page anchor) and its values in drawing order.
struct ChartBody: Encodable {
    struct Point: Encodable {
        var label: String
        var value: Double
        var forecast: Bool
        /// The "Other" remainder added to shares under 100 % (not a row of the table).
        var remainder: Bool
    }

    var id: String
    var kind: String
    var title: String
    var unit: String
    var tableIndex: Int
    var tableAnchor: String
    var heading: String?
    var note: String?
    var points: [Point]

    init(_ chart: ReportChart) {
        id = chart.id
        kind = chart.kind.rawValue
        title = chart.title
        unit = chart.unit
        tableIndex = chart.tableIndex
        tableAnchor = chart.tableAnchor
        heading = chart.heading
        note = chart.note
        points = chart.points.map { Point(label: $0.label, value: $0.value, forecast: $0.isForecast, remainder: $0.isRemainder) }
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, title, unit, heading, note, points
        case tableIndex = "table_index", tableAnchor = "table_anchor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(title, forKey: .title)
        try container.encode(unit, forKey: .unit)
        try container.encode(tableIndex, forKey: .tableIndex)
        try container.encode(tableAnchor, forKey: .tableAnchor)
        try container.encode(heading, forKey: .heading)
        try container.encode(note, forKey: .note)
        try container.encode(points, forKey: .points)
    }
}

/// The key figures in `GET /api/v1/reports/{id}`: each null when the report's tables do not state it.
struct KeyFiguresBody: Encodable {
    struct Figure: Encodable {
        var value: Double
        var unit: String
        var year: Int?
        var label: String
        var tableIndex: Int
        var tableAnchor: String

        init(_ figure: KeyFigures.Figure) {
            value = figure.value
            unit = figure.unit
            year = figure.year
            label = figure.label
            tableIndex = figure.tableIndex
            tableAnchor = figure.tableAnchor
        }

        enum CodingKeys: String, CodingKey {
            case value, unit, year, label, tableIndex = "table_index", tableAnchor = "table_anchor"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(value, forKey: .value)
            try container.encode(unit, forKey: .unit)
            try container.encode(year, forKey: .year)
            try container.encode(label, forKey: .label)
            try container.encode(tableIndex, forKey: .tableIndex)
            try container.encode(tableAnchor, forKey: .tableAnchor)
        }
    }

    var currentSize: Figure?
    var forecastSize: Figure?
    var cagr: Figure?

    init(_ figures: KeyFigures) {
        currentSize = figures.currentSize.map(Figure.init)
        forecastSize = figures.forecastSize.map(Figure.init)
        cagr = figures.cagr.map(Figure.init)
    }

    enum CodingKeys: String, CodingKey { case currentSize = "current_size", forecastSize = "forecast_size", cagr }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(currentSize, forKey: .currentSize)
        try container.encode(forecastSize, forKey: .forecastSize)
        try container.encode(cagr, forKey: .cagr)
    }
}

/// One reference in `GET /api/v1/reports/{id}`: `number` only in the numbered list; `title` null when neither
/// the report nor the basis gave one.
struct ReferenceBody: Encodable {
    var number: Int?
    var title: String?
    var url: String
    var excerpts: [String]

    init(_ reference: ReportReference, numbered: Bool) {
        number = numbered ? reference.number : nil
        title = reference.hasTitle ? reference.displayTitle : nil
        url = reference.url
        excerpts = reference.excerpts
    }

    enum CodingKeys: String, CodingKey { case number, title, url, excerpts }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(number, forKey: .number)
        try container.encode(title, forKey: .title)
        try container.encode(url, forKey: .url)
        try container.encode(excerpts, forKey: .excerpts)
    }
}

/// One report in `GET /api/v1/reports`.
struct ReportSummaryBody: Encodable {
    var id: String
    var slug: String
    var title: String
    var industry: String
    var region: String
    var completedAt: String
    var url: String

    init(item: LibraryItem, baseURL: String) {
        id = item.publicID
        slug = item.slug
        title = item.title
        industry = item.industry
        region = item.region
        completedAt = ReaderDates.iso(item.completedAt)
        url = ReaderLinks.reportURL(baseURL: baseURL, slug: item.slug)
    }

    enum CodingKeys: String, CodingKey {
        case id, slug, title, industry, region, url, completedAt = "completed_at"
    }
}

/// `{reports, next_cursor}`; `next_cursor` is null on the last page.
struct ReportListBody: Encodable {
    var reports: [ReportSummaryBody]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey { case reports, nextCursor = "next_cursor" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reports, forKey: .reports)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
