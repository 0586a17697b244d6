"""Issue 4 acceptance: a report from the research form to /r/{slug} through nginx, against the stack's upstream-sim,
with and without faults; bad and hostile input; hostile upstream content rendered inert.

Faults are queued on the stack's one simulator (global to it) right before the create they target, with count=1,
and these tests run serially (pytest's default). They rely on the test stack's short monitor clocks and webhook
secret (scripts/stack.sh --test): a 3 s lease, a 3 s stream idle limit, a 2 s create grace, a 0.5 s e-mail backoff.
"""
from __future__ import annotations

import concurrent.futures
from html import unescape as html_unescape
import json
import os
import re
import signal
import time
import urllib.parse

import pytest

from .helpers import alive, curl, wait_for
from .report_flow_helpers import (Visitor, active_content, clear_faults, create_posts_for, create_report,
                                  emails_for, events_of, lease_owner_pid, mail_key, psql, queue_fault, report_count,
                                  report_state, sim_get, sim_run, sim_runs, url, wait_for_emails,
                                  wait_until_finished, word)

pytestmark = pytest.mark.usefixtures("stack")

def live_page(public_id: str):
    return curl(url(f"/reports/{public_id}"))


@pytest.fixture(autouse=True)
def _no_leftover_faults():
    if not os.environ.get("UPSTREAM_SIM_URL") or not os.environ.get("DATABASE_URL"):
        pytest.fail("UPSTREAM_SIM_URL and DATABASE_URL of the stack are needed (scripts/stack.sh env)")
    clear_faults()
    yield
    clear_faults()


def assert_published(public_id: str, industry_word: str) -> dict:
    """The completed report as a reader sees it: page, Markdown download, library and its search."""
    state = report_state(public_id)
    assert state["status"] == "completed", state
    slug = state["slug"]
    assert state["url"].endswith(f"/r/{slug}")
    content = psql("SELECT content FROM reports WHERE public_id = :'id';", id=public_id)
    assert content.count("\n") > 10, "the stored report is suspiciously short"

    page = curl(url(f"/r/{slug}"))
    assert page.status == 200
    html = page.text
    assert f">{state['title']}</h1>" in html
    assert "<table>" in html, "the report's Markdown tables are not rendered as tables"
    # The report's own numbered references (when it wrote a section) are what its markers link to; every other
    # site the research visited is listed under "Other sources consulted" with its basis title.
    assert '<section class="references" id="references"' in html
    titles = re.findall(r'<span class="reference__title">(?:<a [^>]*>)?([^<]*)<', html)
    assert titles and all(t.strip() for t in titles), "references have no titles"
    if state["references"]:
        first = state["references"][0]["number"]
        assert f'<li id="ref-{first}"' in html and f'<a href="#ref-{first}" class="cite">' in html, \
            "citations are not linked to the references"
    basis = json.loads(psql("SELECT basis::text FROM reports WHERE public_id = :'id';", id=public_id))
    visited = [c for b in basis for c in (b.get("citations") or [])]
    assert visited and all(c["url"] in html_unescape(html) for c in visited), "a visited source is missing"
    consulted = [c["title"] for c in state["consulted_sources"] if c["title"]]
    assert consulted and all(html_unescape(t) in map(html_unescape, titles) for t in consulted), \
        "the citation titles were dropped"
    assert active_content(html) == [], "the report page carries active content"

    download = curl(url(f"/r/{slug}.md"))
    assert download.status == 200
    assert download.headers["content-type"].startswith("text/markdown")
    assert content.strip() in download.text, "the Markdown download does not hold the report text"
    assert f'title: "{state["title"]}"' in download.text

    assert wait_for(lambda: f'href="/r/{slug}"' in curl(url("/library")).text, 15), "not listed in the library"
    query = urllib.parse.quote(industry_word)
    assert wait_for(lambda: f'href="/r/{slug}"' in curl(url(f"/library?q={query}")).text, 15), \
        f"/library?q={industry_word} does not find it"
    assert f'href="/r/{slug}"' not in curl(url(f"/library?q={word(9)}")).text
    return state


def assert_one_email(public_id: str, slug: str, timeout: float = 30) -> dict:
    emails = wait_for_emails(public_id, slug, timeout)
    assert len(emails) == 1, f"expected exactly one e-mail for {public_id}, the simulator's outbox has {len(emails)}"
    email = emails[0]["email"]
    assert f"/r/{slug}" in json.dumps(email), "the e-mail does not link to the report"
    return email


# ---------------------------------------------------------------- the happy path

def test_a_report_goes_from_the_form_to_its_page_library_download_and_one_email():
    token = word()
    industry = f"Cold-chain logistics {token}"
    public_id = create_report(industry, region="Nordics", email=f"reader.{token}@example.com")
    state = wait_until_finished(public_id)
    assert state["status"] == "completed", state
    assert state["title"] == f"Cold-chain logistics {token} Market Research Report – Nordics"
    assert_published(public_id, token)
    email = assert_one_email(public_id, state["slug"])
    assert len(create_posts_for(public_id)) == 1
    assert events_of(public_id, "completed") == 1
    # The live page hands over to the report once it is complete.
    live = live_page(public_id)
    assert live.status in (302, 303) and live.headers["location"].endswith(f"/r/{state['slug']}"), \
        f"/reports/{public_id} answered {live.status} {live.headers.get('location')}"
    assert email["to"] in ([f"reader.{token}@example.com"], f"reader.{token}@example.com")


# ---------------------------------------------------------------- upstream faults

@pytest.mark.parametrize("fault", ["429", "503", "500"])
def test_upstream_refusing_the_create_once_makes_no_duplicate_run(fault):
    """429/502/503 are retried by the client (nothing was created); 500 leaves the create uncertain and the
    monitor retries it once after the grace period. Either way one run, one report, one e-mail."""
    token = word()
    runs_before = sim_runs()
    queue_fault("create", fault + (";retry_after=1" if fault == "429" else ""))
    public_id = create_report(f"Industrial heat pumps {token}", email=f"ops.{token}@example.com")
    state = wait_until_finished(public_id)
    assert state["status"] == "completed", state
    posts = create_posts_for(public_id)
    assert len(posts) == 2, f"expected the refused create and one retry, saw {len(posts)}"
    assert sim_runs() - runs_before == 1, "more than one run was created upstream"
    run_id = psql("SELECT task_run_id FROM reports WHERE public_id = :'id';", id=public_id)
    assert sim_run(run_id)["metadata"]["report_id"] == public_id
    assert_published(public_id, token)
    assert_one_email(public_id, state["slug"])


@pytest.mark.parametrize("fault, name", [("stream_drop;after=3;mode=close", "dropped"),
                                         ("stream_drop;after=2;mode=rst", "reset"),
                                         ("stream_stall;after=2;seconds=40", "stalled"),
                                         ("early_close_570;after=10", "capped")])
def test_a_broken_event_stream_still_ends_in_the_report(fault, name):
    token = word()
    queue_fault("events", fault)
    started = time.monotonic()
    public_id = create_report(f"Vertical farming {token}")
    state = wait_until_finished(public_id, timeout=35)
    assert state["status"] == "completed", f"{name} stream: {state}"
    # A stall is noticed by the idle limit, not waited out: the stall lasts 40 s.
    assert time.monotonic() - started < 35
    assert sim_get("/__sim/faults")["faults"] == [], "the stream fault was never used"
    assert events_of(public_id, "completed") == 1
    assert int(psql("""SELECT count(*) - count(DISTINCT (type, payload::text)) FROM report_events e
                       JOIN reports r ON r.id = e.report_id
                       WHERE r.public_id = :'id' AND e.type IN ('message');""", id=public_id)) == 0, \
        "replayed upstream messages were stored twice"
    assert_published(public_id, token)


def test_a_run_that_fails_upstream_says_why():
    token = word()
    queue_fault("create", "run_failed")
    public_id = create_report(f"Offshore wind maintenance {token}", email=f"fail.{token}@example.com")
    state = wait_until_finished(public_id)
    assert state["status"] == "failed"
    assert state["error"] == "Task execution failed"
    assert state["slug"] is None
    assert events_of(public_id, "failed") == 1
    time.sleep(1.5)
    assert emails_for(public_id) == [], "a failed report sent the ready e-mail"
    page = live_page(public_id)
    assert page.status == 200, f"/reports/{public_id} answered {page.status}"
    assert "Task execution failed" in page.text
    # The retry is its owner's, behind the manage link sent in the failure e-mail: no public retry form.
    assert "/retry" not in page.text and "manage link" in page.text


def test_a_worker_killed_mid_run_is_replaced_and_another_finishes_the_report():
    token = word()
    # Hold the first stream open and silent so the run is still being followed when the follower dies.
    queue_fault("events", "stream_stall;after=2;seconds=40")
    public_id = create_report(f"Battery recycling {token}", email=f"kill.{token}@example.com")
    assert wait_for(lambda: lease_owner_pid(public_id) is not None
                    and report_state(public_id)["status"] == "running", 20, 0.05), \
        "no worker of this stack took the run"
    victim = lease_owner_pid(public_id)
    assert victim is not None and report_state(public_id)["status"] == "running"
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: not alive(victim), 5)

    state = wait_until_finished(public_id, timeout=30)
    assert state["status"] == "completed", state
    finisher = psql("SELECT coalesce(lease_owner, '') FROM reports WHERE public_id = :'id';", id=public_id)
    assert finisher == "", "the lease was not released on completion"
    assert events_of(public_id, "completed") == 1
    assert_published(public_id, token)
    assert_one_email(public_id, state["slug"])


def test_resend_down_for_a_while_still_sends_the_email_once():
    token = word()
    queue_fault("resend", "503", count=3)
    public_id = create_report(f"Specialty coffee roasting {token}", email=f"mail.{token}@example.com")
    state = wait_until_finished(public_id)
    assert state["status"] == "completed"
    assert_one_email(public_id, state["slug"], timeout=40)
    # Sent in a batch: every attempt is a request carrying this e-mail (named by its X-Entity-Ref-ID), all under
    # the batch's one Idempotency-Key.
    attempts = [r for r in sim_get("/__sim/requests?api=resend")["requests"]
                if any(mail_key({"email": m}) == f"report-ready/{public_id}"
                       for m in (r["body"] if isinstance(r["body"], list) else [r["body"]]) if isinstance(m, dict))]
    assert len(attempts) >= 4, f"expected three refused sends and one accepted, saw {len(attempts)}"
    keys = {{k.lower(): v for k, v in r["headers"].items()}.get("idempotency-key") for r in attempts}
    assert len(keys) == 1 and None not in keys, keys
    row = psql("SELECT o.status || ' ' || o.attempts FROM email_outbox o JOIN reports r ON r.id = o.report_id "
               "WHERE r.public_id = :'id';", id=public_id)
    assert row.split()[0] == "sent" and int(row.split()[1]) >= 4, row


def test_a_webhook_and_the_monitor_completing_the_same_run_complete_it_once():
    """The simulator signs a delivery for every terminal run but can only post to http://; the test stack is
    https-only, so its recorded deliveries (exact body, id, timestamp, signature) are replayed through nginx the
    moment they appear, four at once, racing the monitor, which sees the same terminal state."""
    token = word()
    public_id = create_report(f"Precision agriculture drones {token}", email=f"hook.{token}@example.com")
    assert wait_for(lambda: psql("SELECT coalesce(task_run_id, '') FROM reports WHERE public_id = :'id';",
                                 id=public_id) != "", 20, 0.05)
    run_id = psql("SELECT task_run_id FROM reports WHERE public_id = :'id';", id=public_id)

    def delivery():
        for d in sim_get("/__sim/webhooks")["deliveries"]:
            if d.get("run_id") == run_id and d.get("body"):
                return d
        return None

    assert wait_for(lambda: delivery() is not None, 30, 0.02), "the simulator never fired the webhook"
    d = delivery()
    assert d["url"].endswith("/webhooks/parallel")

    def replay(_):
        return curl(url("/webhooks/parallel"), "-X", "POST", "-H", "Content-Type: application/json",
                    "-H", f"webhook-id: {d['webhook_id']}", "-H", f"webhook-timestamp: {d['webhook_timestamp']}",
                    "-H", f"webhook-signature: {d['webhook_signature']}", "--data-binary", d["body"]).status

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(replay, range(4)))
    assert statuses == [200] * 4, statuses

    state = wait_until_finished(public_id)
    assert state["status"] == "completed"
    assert events_of(public_id, "completed") == 1
    assert int(psql("SELECT count(*) FROM email_outbox o JOIN reports r ON r.id = o.report_id "
                    "WHERE r.public_id = :'id';", id=public_id)) == 1
    assert_one_email(public_id, state["slug"])
    # A tampered replay is refused and changes nothing.
    tampered = curl(url("/webhooks/parallel"), "-X", "POST", "-H", "Content-Type: application/json",
                    "-H", f"webhook-id: {d['webhook_id']}x", "-H", f"webhook-timestamp: {d['webhook_timestamp']}",
                    "-H", f"webhook-signature: {d['webhook_signature']}", "--data-binary", d["body"] + " ")
    assert tampered.status == 401


# ---------------------------------------------------------------- hostile upstream content

def test_hostile_upstream_content_renders_inert():
    token = word()
    public_id = create_report(f"Smart home security {token}", focus="Installers and insurers sim:hostile")
    state = wait_until_finished(public_id)
    assert state["status"] == "completed", state
    content = psql("SELECT content || basis::text FROM reports WHERE public_id = :'id';", id=public_id)
    assert "<script>" in content and "javascript:" in content, "the simulator did not make the report hostile"
    html = curl(url(f"/r/{state['slug']}")).text
    assert active_content(html) == []
    assert "alert(1)" in html, "the hostile text vanished instead of being shown inert"
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", html, re.I)
    # The library and the home page list its title; the Markdown download is text/markdown, never HTML.
    for path in ("/library", f"/library?q={token}", "/"):
        assert active_content(curl(url(path)).text) == [], path
    download = curl(url(f"/r/{state['slug']}.md"))
    assert download.headers["content-type"].startswith("text/markdown")
    assert download.headers.get("x-content-type-options") == "nosniff"


# ---------------------------------------------------------------- bad and hostile input

LONG = "Cold chain " * 12  # 132 characters

BAD_FIELDS = [
    ({"industry": ""}, "industry", "Enter the industry you want researched."),
    ({"industry": "\x01\x02\x7f\u200b"}, "industry", "Enter the industry you want researched."),
    ({"industry": LONG}, "industry", "Keep the industry to 120 characters or fewer"),
    ({"industry": "!!!"}, "industry", "it has no letters or digits"),
    ({"region": "Nordic " * 12}, "region", "Keep the region to 80 characters or fewer"),
    ({"region": "???"}, "region", "Name the region in words"),
    ({"focus": "x" * 2001}, "focus", "Keep the research focus to 2,000 characters or fewer"),
    ({"email": "not-an-address"}, "email", "Enter a valid e-mail address"),
    ({"email": "a@b"}, "email", "Enter a valid e-mail address"),
    ({"email": "someone@example.com\r\nBcc: victim@example.com"}, "email", "Enter a valid e-mail address"),
    ({"email": "x" * 250 + "@example.com"}, "email", "at most 254 characters"),
    ({"visibility": "everyone"}, "visibility", "Choose public or unlisted."),
]


def nothing_created(before_reports: int, before_seq: int) -> None:
    assert report_count() == before_reports, "a report row was created"
    creates = [r for r in sim_get(f"/__sim/requests?api=parallel&since={before_seq}")["requests"]
               if r["method"] == "POST" and "/tasks/runs" in r["path"]]
    assert creates == [], "a run was created upstream"


@pytest.mark.parametrize("change, field, message", BAD_FIELDS, ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_on_every_field_gets_its_message_and_creates_nothing(change, field, message):
    fields = {"industry": "Cold-chain logistics", "region": "", "focus": "", "email": "", "visibility": "public"}
    fields.update(change)
    before, seq = report_count(), sim_get("/__sim/requests?api=parallel")["last_seq"]
    visitor = Visitor()
    try:
        form = visitor.post_form(fields)
        assert form.status == 422, form.status
        html = form.text
        assert f'id="{field}-error">' in html, f"no message next to {field}"
        error = re.search(rf'id="{field}-error">([^<]*)<', html).group(1)
        assert message.replace("'", "&#39;") in error, error
        assert 'aria-invalid="true"' in html
        assert active_content(html) == []

        api = curl(url("/api/v1/reports"), "-X", "POST", "-H", "Content-Type: application/json",
                   "--data-binary", json.dumps(fields))
        assert api.status == 422, api.text[:300]
        body = json.loads(api.body)["error"]
        assert field in body["fields"] and message in body["fields"][field], body
    finally:
        visitor.close()
    nothing_created(before, seq)


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(1)> javascript:alert(1)'


@pytest.mark.parametrize("field", ["industry", "region", "focus", "email"])
def test_hostile_input_is_shown_back_inert_and_creates_nothing(field):
    fields = {"industry": "Cold-chain logistics", "region": "", "focus": "", "visibility": "public",
              "email": "not-an-address"}  # the bad address keeps every case from creating a report
    fields[field] = HOSTILE if field != "email" else HOSTILE + "@example.com"
    before, seq = report_count(), sim_get("/__sim/requests?api=parallel")["last_seq"]
    visitor = Visitor()
    try:
        form = visitor.post_form(fields)
    finally:
        visitor.close()
    assert form.status == 422
    assert active_content(form.text) == [], f"hostile {field} came back active"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in form.text, "the value was not shown back (escaped)"
    nothing_created(before, seq)


@pytest.mark.parametrize("token", [None, "", "forged-token-value", "fetch-but-other-jar"])
def test_a_form_post_without_a_valid_csrf_token_is_refused_and_creates_nothing(token):
    before, seq = report_count(), sim_get("/__sim/requests?api=parallel")["last_seq"]
    visitor = Visitor()
    try:
        if token == "fetch-but-other-jar":
            other = Visitor()
            try:
                token = other.csrf_token()  # a real token, but of another visitor's cookie
            finally:
                other.close()
            visitor.csrf_token()
        reply = visitor.post_form({"industry": f"Cold-chain logistics {word()}", "fresh": "1"}, token=token)
    finally:
        visitor.close()
    assert reply.status == 403, reply.status
    assert "csrf" in reply.text.lower() or "form" in reply.text.lower()
    nothing_created(before, seq)


@pytest.mark.parametrize("body", ["{", "[]", '{"industry": 42}', '{"industry": "Cold-chain logistics", "fresh": "yes"}',
                                  json.dumps({"industry": "Cold-chain logistics", "focus": ["a"]})])
def test_malformed_json_is_a_4xx_and_creates_nothing(body):
    before, seq = report_count(), sim_get("/__sim/requests?api=parallel")["last_seq"]
    reply = curl(url("/api/v1/reports"), "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body)
    assert reply.status in (400, 422), reply.status
    assert "error" in json.loads(reply.body)
    nothing_created(before, seq)


def test_an_industry_the_checker_rejects_gets_its_message_and_creates_nothing():
    before, seq = report_count(), sim_get("/__sim/requests?api=parallel")["last_seq"]
    visitor = Visitor()
    try:
        reply = visitor.post_form({"industry": "asdf", "fresh": "1"})
    finally:
        visitor.close()
    assert reply.status == 422
    assert "Please describe a real industry or market." in reply.text
    nothing_created(before, seq)
