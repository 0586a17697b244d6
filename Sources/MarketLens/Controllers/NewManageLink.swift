import Web

/// Hands a new report's (or batch's) manage link to its page exactly once: a short-lived, HttpOnly cookie
/// scoped to `/reports/{id}` (or `/batch/{id}`), read and deleted by the first render of that page. The token never appears in an address,
/// so no access log, history entry or Referer carries it.
enum NewManageLink {
    static let cookieName = "ml_manage"
    /// Long enough for the redirect and a slow first load.
    static let maxAge = 600

    static func cookie(_ token: ManageToken, path: String) -> SetCookie {
        SetCookie(name: cookieName, value: token.value, path: path, maxAge: maxAge, secure: CSRF.standard.secure,
                  sameSite: .strict)
    }

    static func clearing(path: String) -> SetCookie {
        SetCookie.deleting(cookieName, path: path, secure: CSRF.standard.secure)
    }

    /// The token in `request`'s cookie, if any and well-formed (the caller checks it manages the report).
    static func presented(in request: Request) -> ManageToken? {
        request.cookies[cookieName].flatMap(ManageToken.init(presented:))
    }
}
