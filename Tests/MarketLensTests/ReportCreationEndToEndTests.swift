import Foundation
import Postgres
import Testing
import TestSupport
import Web

/// A visitor's request becomes a run: the app in a real FastCGI worker, real PostgreSQL, real upstream-sim.
@Suite("Report creation end to end", .enabled(if: TestDatabase.isEnabled), .timeLimit(.minutes(2)))
struct ReportCreationEndToEndTests {
    let valid: [(String, String)] = [
        ("industry", "  Cold-chain   logistics "), ("region", "European Union"),
        ("focus", "market size\ntop players"), ("email", "Owner@Example.COM"), ("visibility", "unlisted"),
    ]

    @Test func formPostCreatesOneRunAndRedirects() throws {
        try CreationStack.with { stack in
            let reply = try stack.postForm(valid)
            #expect(reply.status == 303)
            let location = try #require(reply.header("Location"))
            #expect(location.hasPrefix("/reports/rpt_"))
            let publicID = String(location.dropFirst("/reports/".count))

            let row = try #require(try stack.database.queryFirst(
                """
                SELECT id, task_run_id, title, industry, region, focus, email, visibility, status, create_uncertain
                FROM reports WHERE public_id = \(publicID)
                """))
            let runID = try #require(try row.optionalString("task_run_id"))
            #expect(runID.hasPrefix("trun_"))
            #expect(try row.string("title") == "Cold-chain logistics Market Research Report – European Union")
            #expect(try row.string("industry") == "Cold-chain logistics")
            #expect(try row.string("focus") == "market size\ntop players")
            #expect(try row.optionalString("email") == "Owner@example.com")
            #expect(try row.string("visibility") == "unlisted")
            #expect(try row.string("status") == "queued")
            #expect(try row.bool("create_uncertain") == false)

            let events = try stack.database.query(
                "SELECT type, payload->>'state' AS state, payload->>'message' AS message FROM report_events WHERE report_id = \(try row.int64("id"))")
            #expect(events.count == 1)
            #expect(try events.first?.string("type") == "status")
            #expect(try events.first?.string("state") == "queued")
            #expect(try events.first?.string("message") == "Research queued")

            let creates = try stack.creates()
            #expect(creates.count == 1)
            let body = try #require(creates.first?["body"] as? [String: Any])
            #expect((body["metadata"] as? [String: Any])?["report_id"] as? String == publicID)
            #expect(body["enable_events"] as? Bool == true)
            #expect(body["processor"] as? String == "lite")
            #expect(body["webhook"] == nil)
            let input = try #require(body["input"] as? String)
            #expect(input.contains("Industry: Cold-chain logistics\nRegion: European Union\nFocus: market size\n  top players"))
            #expect(!input.contains("Owner@"))
            let headers = try #require(creates.first?["headers"] as? [String: Any])
            let beta = headers.first { $0.key.lowercased() == "parallel-beta" }?.value as? String
            #expect(beta?.contains("events-sse-2025-07-24") == true)
            #expect(try stack.chats().count == 1)
        }
    }

    @Test func webhookIsRequestedOnlyWhenASecretIsConfigured() throws {
        try CreationStack.with(environment: ["PARALLEL_WEBHOOK_SECRET": "sim_webhook_secret_123"]) { stack in
            #expect(try stack.postForm(valid).status == 303)
            let body = try #require(try stack.creates().first?["body"] as? [String: Any])
            let webhook = try #require(body["webhook"] as? [String: Any])
            #expect(webhook["url"] as? String == "https://marketlens.test/webhooks/parallel")
            #expect(webhook["event_types"] as? [String] == ["task_run.status"])
        }
    }

    @Test func badFieldsShowTheFormAgainWithMessagesAndEscapedValues() throws {
        try CreationStack.with { stack in
            let hostile = #"<script>alert(1)</script>"#
            let reply = try stack.postForm([
                ("industry", "x"), ("region", String(repeating: "r", count: 81)),
                ("focus", hostile + String(repeating: "f", count: 2000)), ("email", #""><img src=x onerror=alert(1)>@x"#),
                ("visibility", "secret"),
            ])
            #expect(reply.status == 422)
            #expect(reply.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(reply.body.contains("Use at least 2 characters to describe the industry."))
            #expect(reply.body.contains("Keep the region to 80 characters or fewer (this one has 81)."))
            #expect(reply.body.contains("Keep the research focus to 2,000 characters or fewer (this one has 2025)."))
            #expect(reply.body.contains("Enter a valid e-mail address"))
            #expect(reply.body.contains("Please correct the fields marked below."))
            #expect(reply.body.contains(#"id="industry-error""#))
            #expect(reply.body.contains(#"<p class="field-error" id="visibility-error">Choose public or unlisted.</p>"#))
            #expect(reply.body.contains(#"value="x""#))
            #expect(reply.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!reply.body.contains(hostile))
            #expect(!reply.body.contains("<img src=x"))
            #expect(try stack.reportCount() == 0)
            #expect(try stack.creates().isEmpty)
            #expect(try stack.chats().isEmpty)
        }
    }

    @Test func missingCSRFIsForbiddenAndCreatesNothing() throws {
        try CreationStack.with { stack in
            #expect(try stack.postForm(valid, csrf: false).status == 403)
            let fields = (valid + [("csrf_token", CreationStack.csrfToken)])
                .map { URLEncodedForm.Field(name: $0.0, value: $0.1) }
            let body = URLEncodedForm(fields: fields).encoded
            let mismatched = try stack.send("POST", "/reports", headers: [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", "__Host-csrf_token=" + String(repeating: "A", count: 43)),
            ], body: body)
            #expect(mismatched.status == 403)
            #expect(try stack.reportCount() == 0)
            #expect(try stack.chats().isEmpty)
        }
    }

    @Test func overThePerClientLimitIs429WithRetryAfter() throws {
        try CreationStack.with(environment: ["MAX_REPORTS_PER_CLIENT_PER_HOUR": "2"]) { stack in
            for industry in ["Solar panels", "Wind turbines"] {
                #expect(try stack.postForm([("industry", industry)]).status == 303)
            }
            // A rejected request does not use quota: the limit is still exactly 2 for this client.
            #expect(try stack.postForm([("industry", "")]).status == 422)
            let refused = try stack.postForm([("industry", "Heat pumps"), ("region", "Nordics")])
            #expect(refused.status == 429)
            let retryAfter = try #require(refused.header("Retry-After").flatMap(Int.init))
            #expect((1...3600).contains(retryAfter))
            #expect(refused.body.contains("You have reached the limit of new reports for this hour."))
            #expect(refused.body.contains(#"value="Heat pumps""#))
            #expect(try stack.reportCount() == 2)
            // Another client still may.
            #expect(try stack.postForm([("industry", "Heat pumps")], client: "198.51.100.99").status == 303)
            let api = try stack.postJSON("/api/v1/reports", #"{"industry":"Heat pumps","fresh":true}"#)
            #expect(api.status == 429)
            #expect(api.header("Retry-After") != nil)
            #expect(try jsonObject(api.body)["error"].flatMap { ($0 as? [String: Any])?["code"] as? String } == "rate_limited")
            #expect(try stack.reportCount() == 3)
            #expect(try stack.creates().count == 3)
        }
    }

    @Test func globalLimitCountsEveryClient() throws {
        try CreationStack.with(environment: ["MAX_REPORTS_PER_HOUR": "1"]) { stack in
            #expect(try stack.postForm([("industry", "Solar panels")], client: "192.0.2.1").status == 303)
            let refused = try stack.postForm([("industry", "Wind turbines")], client: "192.0.2.2")
            #expect(refused.status == 429)
            #expect(refused.body.contains("Marketlens has reached its limit of new reports for this hour."))
            #expect(try stack.reportCount() == 1)
        }
    }

    @Test func chatSaysInvalidShowsTheReasonAndIsCached() throws {
        try CreationStack.with { stack in
            let reply = try stack.postForm([("industry", "asdf")])
            #expect(reply.status == 422)
            #expect(reply.body.contains("This does not look like a market we can research"))
            #expect(reply.body.contains(#"value="asdf""#))
            #expect(try stack.reportCount() == 0)
            #expect(try stack.creates().isEmpty)
            #expect(try stack.chats().count == 1)
            // The same request again (other spacing and case) is answered from the cache.
            #expect(try stack.postForm([("industry", " ASDF ")]).status == 422)
            #expect(try stack.chats().count == 1)
            let api = try stack.postJSON("/api/v1/reports", #"{"industry":"asdf"}"#)
            #expect(api.status == 422)
            let error = try #require(try jsonObject(api.body)["error"] as? [String: Any])
            #expect(error["code"] as? String == "input_rejected")
            #expect((error["message"] as? String)?.hasPrefix("This does not look like a market we can research") == true)
            #expect(try stack.chats().count == 1)
            let cached = try stack.database.queryFirst("SELECT count(*)::int AS n FROM validation_cache")?.int("n")
            #expect(cached == 1)
        }
    }

    @Test func hostileReasoningFromTheCheckerIsEscaped() throws {
        try CreationStack.with { stack in
            let reply = try stack.postForm([("industry", "asdf sim:hostile")])
            #expect(reply.status == 422)
            #expect(reply.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!reply.body.contains("<script>alert(1)"))
            #expect(!reply.body.contains("<img src=x"))
            #expect(!reply.body.contains("<svg onload"))
            #expect(try stack.reportCount() == 0)
        }
    }

    @Test func chatDownIs503AndCreatesNothing() throws {
        try CreationStack.with(environment: ["MAX_REPORTS_PER_CLIENT_PER_HOUR": "1"]) { stack in
            try stack.sim.fault("chat", "503", count: 2)
            let reply = try stack.postForm(valid)
            #expect(reply.status == 503)
            #expect(reply.header("Retry-After") == "60")
            #expect(reply.body.contains("Our research checker is unavailable, please try again in a minute"))
            #expect(reply.body.contains(#"value="European Union""#))
            let api = try stack.postJSON("/api/v1/reports", #"{"industry":"Wind turbines"}"#)
            #expect(api.status == 503)
            #expect(try stack.reportCount() == 0)
            #expect(try stack.creates().isEmpty)
            // No quota was used: the single allowed report still goes through once the checker is back.
            #expect(try stack.postForm(valid).status == 303)
        }
    }

    @Test func slowChatIsRefusedNotWaitedFor() throws {
        // speed answers after 250 simulated seconds × 0.02 = 5 s; the app allows 1 s.
        try CreationStack.with(simArguments: ["--chat-delay", "250"], validationTimeout: 1) { stack in
            let started = Date()
            let reply = try stack.postForm([("industry", "Solar panels")])
            #expect(reply.status == 503)
            #expect(Date().timeIntervalSince(started) < 4)
            #expect(try stack.reportCount() == 0)
        }
    }

    @Test func create429IsRetriedIntoExactlyOneRun() throws {
        try CreationStack.with { stack in
            try stack.sim.fault("create", "429;retry_after=1")
            let reply = try stack.postForm([("industry", "Solar panels")])
            #expect(reply.status == 303)
            let runID = try stack.database.queryFirst("SELECT task_run_id FROM reports")?.optionalString("task_run_id")
            #expect(runID?.hasPrefix("trun_") == true)
            #expect(try stack.creates().count == 2)
            #expect(try stack.sim.control("GET", "/__sim/health")["runs"] as? Int == 1)
        }
    }

    @Test func create500IsUncertainAndNeverRepeated() throws {
        try CreationStack.with { stack in
            try stack.sim.fault("create", "500")
            let reply = try stack.postForm([("industry", "Solar panels")])
            #expect(reply.status == 303)
            let row = try #require(try stack.database.queryFirst(
                "SELECT public_id, task_run_id, create_uncertain, status FROM reports"))
            #expect(reply.header("Location") == "/reports/" + (try row.string("public_id")))
            #expect(try row.bool("create_uncertain"))
            #expect(try row.optionalString("task_run_id") == nil)
            #expect(try row.string("status") == "queued")
            #expect(try stack.creates().count == 1)
        }
    }

    @Test func definiteRefusalMarksTheReportFailedAndItsOwnerRetriesIt() throws {
        try CreationStack.with { stack in
            try stack.sim.fault("create", "402")
            let api = try stack.postJSON("/api/v1/reports", #"{"industry":"Solar panels","email":"a@b.co"}"#)
            #expect(api.status == 202)
            let created = try jsonObject(api.body)
            #expect(created["status"] as? String == "failed")
            #expect((created["error"] as? String)?.contains("run out of credit") == true)
            let failedID = try #require(created["id"] as? String)
            let events = try stack.database.query(
                "SELECT e.type FROM report_events e JOIN reports r ON r.id = e.report_id WHERE r.public_id = \(failedID)")
            #expect(try events.map { try $0.string("type") } == ["failed"])

            // Its owner is told once, with the reason and the manage link that retries it.
            let manageURL = try #require(created["manage_url"] as? String)
            let mails = try stack.database.query("SELECT kind, text_body FROM email_outbox")
            #expect(try mails.map { try $0.string("kind") } == ["report_failed"])
            #expect(try mails.first?.string("text_body").contains(manageURL) == true)
            #expect(try mails.first?.string("text_body").contains("run out of credit") == true)

            // Knowing the id is not enough any more: only the manage link retries.
            #expect(try stack.postForm([], path: "/reports/\(failedID)/retry").status == 404)
            let token = try #require(manageURL.split(separator: "/").last.map(String.init))
            #expect(try stack.postForm([("action", "retry")], csrf: false, path: "/manage/\(token)").status == 403)
            #expect(try stack.reportCount() == 1)
            let retried = try stack.postForm([("action", "retry")], path: "/manage/\(token)")
            #expect(retried.status == 303)
            let newID = try #require(try stack.database.queryFirst(
                "SELECT public_id FROM reports WHERE public_id <> \(failedID)")).string("public_id")
            let row = try #require(try stack.database.queryFirst(
                "SELECT industry, email, task_run_id FROM reports WHERE public_id = \(newID)"))
            #expect(try row.string("industry") == "Solar panels")
            #expect(try row.optionalString("email") == "a@b.co")
            #expect(try row.optionalString("task_run_id") != nil)
            #expect(try stack.creates().count == 2)
            #expect(try stack.chats().count == 1)

            // The link now manages the retry, which is running: nothing to retry; a made-up token is a 404.
            #expect(try stack.postForm([("action", "retry")], path: "/manage/\(token)").status == 409)
            #expect(try stack.postForm([("action", "retry")], path: "/manage/\(String(repeating: "A", count: 32))").status == 404)
            #expect(try stack.reportCount() == 2)
        }
    }

    @Test func identicalCompletedReportIsOfferedAndFreshCreatesAnyway() throws {
        try CreationStack.with { stack in
            try stack.database.execute(
                """
                INSERT INTO reports (public_id, title, industry, region, focus, processor, status, content, slug,
                                     completed_at)
                VALUES ('rpt_done1', 'Cold-chain logistics Market Research Report – European Union',
                        'cold-chain logistics', 'european union', 'Market size
                top players', 'lite', 'completed', '# Report', 'cold-chain-logistics-ab12', now() - interval '2 days')
                """)
            let offer = try stack.postForm(valid)
            #expect(offer.status == 200)
            #expect(offer.body.contains(#"href="/r/cold-chain-logistics-ab12""#))
            #expect(offer.body.contains(#"name="fresh" value="1""#))
            #expect(offer.body.contains(#"name="csrf_token" value="\#(CreationStack.csrfToken)""#))
            #expect(offer.body.contains(#"name="industry" value="Cold-chain logistics""#))
            #expect(try stack.reportCount() == 1)
            #expect(try stack.chats().isEmpty)

            let api = try stack.postJSON("/api/v1/reports",
                                         #"{"industry":"COLD-CHAIN logistics","region":"European Union","focus":"market size\ntop players"}"#)
            #expect(api.status == 200)
            let existing = try #require(try jsonObject(api.body)["existing"] as? [String: Any])
            #expect(existing["id"] as? String == "rpt_done1")
            #expect(existing["url"] as? String == "/r/cold-chain-logistics-ab12")

            let fresh = try stack.postForm(valid + [("fresh", "1")])
            #expect(fresh.status == 303)
            let freshAPI = try stack.postJSON("/api/v1/reports",
                                              #"{"industry":"Cold-chain logistics","region":"European Union","focus":"market size\ntop players","fresh":true}"#)
            #expect(freshAPI.status == 202)
            #expect(try stack.reportCount() == 3)
            #expect(try stack.creates().count == 2)

            // Hidden or unlisted reports are never offered.
            try stack.database.execute("UPDATE reports SET visibility = 'unlisted' WHERE public_id = 'rpt_done1'")
            #expect(try stack.postForm(valid).status == 303)
        }
    }

    @Test func jsonAPICreatesWith202AndReportsFieldErrors() throws {
        try CreationStack.with { stack in
            let reply = try stack.postJSON("/api/v1/reports", #"{"industry":"Solar panels","visibility":"unlisted"}"#)
            #expect(reply.status == 202)
            let body = try jsonObject(reply.body)
            let id = try #require(body["id"] as? String)
            #expect(body["status"] as? String == "queued")
            #expect(body["events_url"] as? String == "/api/v1/reports/\(id)/events")
            #expect(body["page_url"] as? String == "/reports/\(id)")
            #expect(reply.header("Location") == "/api/v1/reports/\(id)")

            let bad = try stack.postJSON("/api/v1/reports", #"{"industry":"\u0000","email":"nope","focus":"\#(String(repeating: "f", count: 2001))"}"#)
            #expect(bad.status == 422)
            let error = try #require(try jsonObject(bad.body)["error"] as? [String: Any])
            let fields = try #require(error["fields"] as? [String: String])
            #expect(fields["industry"] == "Enter the industry you want researched.")
            #expect(fields["email"] != nil)
            #expect(fields["focus"] != nil)
            #expect(try stack.postJSON("/api/v1/reports", #"{"industry":5}"#).status == 422)
            #expect(try stack.postJSON("/api/v1/reports", "not json").status == 400)
            #expect(try stack.reportCount() == 1)
        }
    }

    @Test func validateEndpointGivesTheSameVerdicts() throws {
        try CreationStack.with { stack in
            let good = try jsonObject(try stack.postJSON("/api/v1/validate", #"{"industry":"Solar panels"}"#).body)
            #expect(good["valid"] as? Bool == true)
            let bad = try jsonObject(try stack.postJSON("/api/v1/validate", #"{"industry":"asdf"}"#).body)
            #expect(bad["valid"] as? Bool == false)
            #expect((bad["message"] as? String)?.hasPrefix("This does not look like a market") == true)
            let local = try jsonObject(try stack.postJSON("/api/v1/validate", #"{"industry":"x","region":"\#(String(repeating: "r", count: 81))"}"#).body)
            #expect(local["valid"] as? Bool == false)
            #expect(local["message"] as? String == "Use at least 2 characters to describe the industry.")
            #expect((local["fields"] as? [String: String])?["region"] != nil)
            #expect(try stack.chats().count == 2)
            try stack.sim.fault("chat", "500")
            let down = try stack.postJSON("/api/v1/validate", #"{"industry":"Wind turbines"}"#)
            #expect(down.status == 503)
            #expect(down.header("Retry-After") == "60")
            #expect(try stack.reportCount() == 0)
        }
    }

    @Test func homePageLoadsTheFormScriptAndStatusRegion() throws {
        try CreationStack.with { stack in
            let home = try stack.send("GET", "/")
            #expect(home.status == 200)
            #expect(home.body.contains(#"<script src="/static/js/research-form.js" defer></script>"#))
            #expect(home.body.contains(#"aria-live="polite""#))
        }
    }
}
