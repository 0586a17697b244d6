import Web

/// Hands a new report's manage link to its live page exactly once: a short-lived, HttpOnly cookie scoped to
/// `/reports/{id}`, read and deleted by the first render of that page. The token never appears in an address,
/// so no access log, history entry or Referer carries it.
enum NewManageLink {
    static let cookieName = "ml_manage"
    /// Long enough for the redirect and a slow first load.
    static let maxAge = 600

    static func cookie(_ token: ManageToken, reportID: String) -> SetCookie {
        SetCookie(name: cookieName, value: token.value, path: "/reports/\(reportID)", maxAge: maxAge,
                  secure: CSRF.standard.secure, sameSite: .strict)
    }

    static func clearing(reportID: String) -> SetCookie {
        SetCookie.deleting(cookieName, path: "/reports/\(reportID)", secure: CSRF.standard.secure)
    }

    /// The token in `request`'s cookie, if any and well-formed (the caller checks it manages the report).
    static func presented(in request: Request) -> ManageToken? {
        request.cookies[cookieName].flatMap(ManageToken.init(presented:))
    }
}
