import Web

/// Whether a public route (`/reports/{id}`, its event stream, `/r/{slug}` and its `.md`, `GET /api/v1/reports/{id}`)
/// may show a report. The one place that decides it, so a new state that hides a report (a deletion answered
/// 410 Gone, say) is added here and every public route follows.
enum ReportAccess: Equatable {
    /// Anyone with the link may see it.
    case visible
    /// Answered exactly like an id that never existed: hidden by the operator (`marketlens reports hide`).
    case notFound

    /// The access `report` allows; nil (no such report) is `.notFound`.
    init(_ report: Report?) {
        guard let report else { self = .notFound; return }
        self.init(hidden: report.hidden)
    }

    /// The access of a report with these stored values, for routes that read a few columns instead of a `Report`
    /// (select every column named here).
    init(hidden: Bool) {
        self = hidden ? .notFound : .visible
    }

    /// The error a public route answers instead of the report, nil when it may be shown. `message` is the
    /// route's own wording for a missing report.
    func error(message: String) -> HTTPError? {
        switch self {
        case .visible: nil
        case .notFound: HTTPError.notFound(message)
        }
    }

    /// `report` when a public route may show it; otherwise throws the route's answer (404 for a missing or
    /// hidden report).
    static func require(_ report: Report?, message: String) throws(HTTPError) -> Report {
        if let error = ReportAccess(report).error(message: message) { throw error }
        guard let report else { throw HTTPError.notFound(message) }  // `.notFound` above already; for the compiler
        return report
    }
}
