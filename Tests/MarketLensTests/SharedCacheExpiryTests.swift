import Foundation
@testable import MarketLens
import Testing
import Web

@Suite struct SharedCacheExpiryTests {
    let started = Date(timeIntervalSince1970: 1_700_000_000.9)

    func header(_ response: Response, method: String = "GET") -> String {
        SharedCacheExpiry.header(for: response, request: Request(method: method, path: "/r/x"), started: started)
    }

    @Test func aPublicAnswerToAGetLivesUntilTheEndOfItsSecond() {
        let page = Response.html("<p>x</p>").cacheControl(.publicMaxAge(300))
        #expect(header(page) == "@1700000000")
        #expect(header(page, method: "HEAD") == "@1700000000")
    }

    @Test func everythingPersonalOrUnsafeIsNeverStored() {
        let page = Response.html("<p>x</p>").cacheControl(.publicMaxAge(300))
        #expect(header(page, method: "POST") == "0")
        #expect(header(Response.html("<p>x</p>").cacheControl(.privateMaxAge(300))) == "0")
        #expect(header(Response.html("<p>x</p>").cacheControl(.noStore)) == "0")
        #expect(header(Response.html("<p>x</p>")) == "0")  // no Cache-Control at all
        var withCookie = page
        withCookie.headers.add("Set-Cookie", "a=b")
        #expect(header(withCookie) == "0")
        var notFound = page
        notFound.status = 404
        #expect(header(notFound) == "0")
        var mixed = page
        mixed.headers["Cache-Control"] = "public, no-cache"
        #expect(header(mixed) == "0")
    }
}
