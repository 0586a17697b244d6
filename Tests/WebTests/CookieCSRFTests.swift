import Testing
import Web

@Suite("Cookies and CSRF")
struct CookieCSRFTests {
    @Test func parsesCookieHeader() {
        let cookies = Cookies.parse(#"a=1; b="two"; c=; bad name=x; a=shadowed;noequals; d=x=y"#)
        #expect(cookies == ["a": "1", "b": "two", "c": "", "d": "x=y"])
    }

    @Test func requestCookiesMergeHeaders() {
        var headers = HTTPHeaders()
        headers.add("Cookie", "a=1; b=2")
        headers.add("cookie", "b=3; c=4")
        #expect(Request(method: "GET", path: "/", headers: headers).cookies == ["a": "1", "b": "2", "c": "4"])
    }

    @Test func setCookieDefaultsAreSafe() {
        #expect(
            SetCookie(name: "sid", value: "abc", maxAge: 3600).headerValue
                == "sid=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax")
        #expect(
            SetCookie(name: "pref", value: "x", path: "/library", httpOnly: false, secure: false).headerValue
                == "pref=x; Path=/library; SameSite=Lax")
        #expect(SetCookie.deleting("sid").headerValue == "sid=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
    }

    @Test func setCookieCannotBeInjected() {
        let header = SetCookie(name: "a\r\nb", value: "x; Domain=evil.com\r\nSet-Cookie: y=1", path: "/;x").headerValue
        #expect(!header.contains("\r") && !header.contains("\n"))
        #expect(!header.contains("Domain=evil.com;"))
        #expect(header.hasPrefix("ab=xDomain=evil.comSet-Cookie:y=1; Path=/x;"))
    }

    @Test func csrfIssuesTokenOnceThenReusesIt() throws {
        let csrf = CSRF.standard
        let first = csrf.token(for: Request(method: "GET", path: "/"))
        #expect(first.value.utf8.count == 43)
        let cookie = try #require(first.setCookie)
        #expect(cookie.hasPrefix("__Host-csrf_token=\(first.value); Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax"))
        let again = csrf.token(
            for: Request(method: "GET", path: "/", headers: ["Cookie": "__Host-csrf_token=\(first.value)"]))
        #expect(again == CSRF.Token(value: first.value, setCookie: nil))
        #expect(csrf.token(for: Request(method: "GET", path: "/")).value != first.value)
    }

    @Test func csrfReissuesMalformedCookie() {
        let token = CSRF.standard.token(for: Request(method: "GET", path: "/", headers: ["Cookie": "__Host-csrf_token=short"]))
        #expect(token.value != "short")
        #expect(token.setCookie != nil)
    }

    @Test func csrfVerify() throws {
        let token = CSRF.standard.token(for: Request(method: "GET", path: "/")).value
        let post = Request(method: "POST", path: "/reports", headers: ["Cookie": "__Host-csrf_token=\(token)"])
        try CSRF.standard.verify(post, formToken: token)

        var tampered = Array(token)
        tampered[0] = tampered[0] == "A" ? "B" : "A"
        let other = CSRF.standard.token(for: Request(method: "GET", path: "/")).value
        for wrong in [String(tampered), other, "", String(token.dropLast()), token + "x"] as [String?] + [nil] {
            let error = #expect(throws: HTTPError.self) { try CSRF.standard.verify(post, formToken: wrong) }
            #expect(error?.status == 403)
            #expect(error?.code == "csrf_failed")
        }
        // A token in the non-prefixed cookie (which a subdomain could plant) is not accepted.
        let planted = Request(method: "POST", path: "/reports", headers: ["Cookie": "csrf_token=\(token)"])
        #expect(throws: HTTPError.self) { try CSRF.standard.verify(planted, formToken: token) }
        #expect(CSRF(secure: false).cookieName == "csrf_token")
        let noCookie = Request(method: "POST", path: "/reports")
        #expect(throws: HTTPError.self) { try CSRF.standard.verify(noCookie, formToken: token) }
    }
}
