import Foundation
import Markdown

/// The owner's e-mails: "your report is ready" and "your report did not finish", rendered from
/// `templates/email/report-{ready,failed}.{html,txt}.mustache`.
struct ReportEmail: Equatable {
    var subject: String
    var html: String
    var text: String

    /// Renders the message for a completed report: its title, its link and a short summary of its opening.
    static func reportReady(title: String, url: String, content: String, manageURL: String?,
                            renderer: PageRenderer) throws -> ReportEmail {
        var context: [String: Any] = ["title": title, "url": url, "summary": summary(of: content)]
        if let manageURL { context["manageURL"] = manageURL }
        let subject = SafeText.clean("Your report is ready: \(title)", limit: 200)
            .replacingOccurrences(of: "\n", with: " ")
        return ReportEmail(subject: subject, html: try renderer.render("email/report-ready.html", context),
                           text: try renderer.render("email/report-ready.txt", context))
    }

    /// Renders the message for a failed report: the reason and, when the token was kept, the manage link that
    /// retries it.
    static func reportFailed(title: String, reason: String, manageURL: String?, renderer: PageRenderer) throws
        -> ReportEmail
    {
        var context: [String: Any] = ["title": title, "reason": reason]
        if let manageURL { context["manageURL"] = manageURL }
        let subject = SafeText.clean("Your report did not finish: \(title)", limit: 200)
            .replacingOccurrences(of: "\n", with: " ")
        return ReportEmail(subject: subject, html: try renderer.render("email/report-failed.html", context),
                           text: try renderer.render("email/report-failed.txt", context))
    }

    /// The first paragraph of prose in `markdown` (headings, tables, lists and markup skipped), as plain text of at
    /// most 300 characters.
    static func summary(of markdown: String) -> String {
        var paragraph: [String] = []
        for rawLine in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let isProse = !line.isEmpty && !line.hasPrefix("#") && !line.hasPrefix("|") && !line.hasPrefix("```")
                && !line.hasPrefix(">") && !line.hasPrefix("- ") && !line.hasPrefix("* ") && !line.hasPrefix("---")
            if isProse {
                paragraph.append(line)
            } else if !paragraph.isEmpty {
                break
            }
        }
        var text = paragraph.joined(separator: " ")
        // Links become their text; citation markers and emphasis go.
        text = text.replacingOccurrences(of: #"\[([^\]]*)\]\([^)]*\)"#, with: "$1", options: .regularExpression)
        // Every marker form the reader links (`[3]`, `[1, 3]`, `[2; 5]`, `[1–3]`), after the links were unwrapped.
        text = CitationMarkers.removing(from: text)
        text = text.replacingOccurrences(of: #"\s+([.,;:!?])"#, with: "$1", options: .regularExpression)
        text = text.replacingOccurrences(of: #"[*_`]+"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: #"<[^>]*>"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
        text = SafeText.clean(text, limit: 300)
        return text
    }
}
