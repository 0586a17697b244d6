"""nginx's page cache (issue 17), through real nginx with real curl: public pages come from the cache
(X-Cache-Status: HIT), nothing personal is ever cached or shared, and a change to a report shows on every
cached page within a second (reports are changed with the CLI or straight in the database with psql)."""
from __future__ import annotations

import html
import os
import random
import re
import subprocess
import sys
import time

import pytest

from .helpers import ROOT, Reply, curl, wait_for
from .report_flow_helpers import Visitor, cache_status, cached, psql, url

pytestmark = pytest.mark.usefixtures("stack")


def token() -> str:
    """A unique word that reads like one: consonant-vowel pairs, so the input check (which refuses words with no
    vowel, keyboard runs and repeated letters) never refuses a form that carries it (12 random letters had no vowel
    about once in 23 runs)."""
    return "".join(random.choice("bcdfghklmnprstvz") + random.choice("aeiou") for _ in range(6))


def insert_report(status: str = "completed", visibility: str = "public") -> dict[str, str]:
    word = token()
    public_id, slug = f"rpt_cache{word}", f"quillwort-{word}"
    completed = status == "completed"
    psql("""
        INSERT INTO reports (public_id, title, slug, industry, region, processor, status, visibility, content,
                             created_at, started_at, completed_at)
        VALUES (:'id', :'title', :'slug', :'industry', '', 'ultra2x', :'status', :'visibility',
                CASE WHEN :'status' = 'completed' THEN :'content' END,
                now() - interval '5 minutes', now() - interval '4 minutes',
                CASE WHEN :'status' = 'completed' THEN now() END);
        """, id=public_id, slug=slug, title=f"Quillwort {word}: Market Research Report",
         industry=f"Quillwort {word}", status=status, visibility=visibility,
         content=f"# Quillwort {word}\n\n## Summary\n\nFirst version about {word}.\n")
    return {"id": public_id, "slug": slug, "word": word, "completed": str(completed)}


@pytest.fixture()
def report():
    made = insert_report()
    yield made
    psql("DELETE FROM reports WHERE public_id = :'id';", id=made["id"])


def shows_within_a_second(change, check) -> float:
    """Makes `change` and polls `check` (one GET of each cached page) from the moment the change was issued;
    returns the seconds until it first held. Fails unless every GET sent a second or more after the change was
    issued shows it. Nothing reads the pages while the change is being made, so every cached copy predates it."""
    issued = time.monotonic()
    change()
    while True:
        sent = time.monotonic() - issued
        if check():
            return sent
        assert sent < 1.0, f"still not shown by a GET sent {sent:.2f} s after the change was issued"
        time.sleep(0.05)


def cli(*args: str) -> None:
    binary = os.environ.get("MARKETLENS_BIN")
    if not binary:
        pytest.fail("MARKETLENS_BIN is not set: run through `make test` or scripts/stack.sh env")
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def listed(path: str, slug: str) -> bool:
    reply = curl(url(path))
    assert reply.status == 200, (path, reply.status)
    return f'href="/r/{slug}"' in reply.text


# ---------------------------------------------------------------- what is cached

def test_public_pages_come_from_the_cache(report):
    for path in (f"/r/{report['slug']}", f"/r/{report['slug']}.md", f"/library?q={report['word']}", "/library",
                 "/"):
        first = curl(url(path))
        assert first.status == 200, path
        assert cache_status(first) in ("MISS", "EXPIRED", "HIT", "UPDATING"), (path, first.headers)
        again = cached(path)
        assert again.body == first.body or path in ("/", "/library"), path  # lists may move on meanwhile
        # The browser is told its own policy; nginx's X-Accel-Expires never leaves the server.
        assert "x-accel-expires" not in again.headers
        assert "content-security-policy" in again.headers and "x-request-id" in again.headers


def test_a_head_request_never_leaves_an_empty_page_for_a_get(report):
    path = f"/r/{report['slug']}"
    head = curl(url(path), "-I")
    assert head.status == 200
    page = curl(url(path))
    assert page.status == 200 and report["word"] in page.text


def test_errors_and_other_routes_are_not_cached(report):
    for _ in range(3):
        missing = curl(url("/r/no-such-report-here"))
        assert missing.status == 404
        assert cache_status(missing) != "HIT"
    for path in ("/healthz", f"/api/v1/reports/{report['id']}", "/batch", "/manage/some-owner-token"):
        for _ in range(2):
            assert cache_status(curl(url(path))) == "BYPASS", path
    assert "x-cache-status" not in curl(url("/static/css/app.css")).headers


# ---------------------------------------------------------------- nothing personal is cached or shared

def test_two_cookie_jars_never_see_each_others_page():
    first, second = Visitor(), Visitor()
    try:
        token_a, token_b = first.csrf_token(), second.csrf_token()
        assert token_a != token_b
        for visitor, mine, theirs in ((first, token_a, token_b), (second, token_b, token_a),
                                      (first, token_a, token_b)):
            page = visitor.get("/")
            assert page.status == 200
            assert cache_status(page) == "BYPASS"
            assert f'name="csrf_token" value="{mine}"' in page.text
            assert theirs not in page.text
            assert page.headers.get("cache-control") == "no-store"
            library = visitor.get("/library")
            assert cache_status(library) == "BYPASS"
        # The page for visitors without a cookie is the same for everyone: no token, no cookie.
        anonymous = cached("/")
        assert 'name="csrf_token" value=""' in anonymous.text
        assert token_a not in anonymous.text and token_b not in anonymous.text
        assert "set-cookie" not in anonymous.headers
    finally:
        first.close()
        second.close()


def test_any_cookie_or_authorization_bypasses_the_cache(report):
    path = f"/r/{report['slug']}"
    for header in ("Cookie: theme=dark", "Authorization: Bearer not-a-real-token", "Authorization: Basic eDp5"):
        for _ in range(2):
            reply = curl(url(path), "-H", header)
            assert reply.status == 200
            assert cache_status(reply) == "BYPASS", header
    # None of them left a copy behind: the first anonymous request still goes to the app.
    assert cache_status(curl(url(path))) == "MISS"


def test_an_authenticated_api_call_is_never_cached(report):
    path = f"/api/v1/reports/{report['id']}"
    for _ in range(3):
        reply = curl(url(path), "-H", "Authorization: Bearer owner-secret-token")
        assert reply.status in (200, 401, 403), reply.status
        assert cache_status(reply) == "BYPASS"
        assert "owner-secret-token" not in reply.text


def test_an_unlisted_report_is_never_cached():
    made = insert_report(visibility="unlisted")
    try:
        path = f"/r/{made['slug']}"
        for _ in range(4):
            reply = curl(url(path))
            assert reply.status == 200
            assert reply.headers["cache-control"].startswith("private")
            assert cache_status(reply) != "HIT"
        assert cache_status(curl(url(path + ".md"))) != "HIT"
        assert cache_status(curl(url(path + ".md"))) != "HIT"
    finally:
        psql("DELETE FROM reports WHERE public_id = :'id';", id=made["id"])


def test_post_is_never_cached():
    industry = "Posted " + token()
    for path in ("/", "/library", "/reports"):
        for _ in range(2):
            reply = curl(url(path), "-X", "POST", "--data-urlencode", f"industry={industry}")
            assert reply.status >= 400, (path, reply.status)
            assert cache_status(reply) == "BYPASS", path
    # A POST leaves nothing behind that a GET would get.
    home = curl(url("/"))
    assert home.status == 200 and industry not in home.text


def test_without_javascript_the_form_asks_once_more_and_keeps_the_input():
    visitor = Visitor()
    try:
        industry = "Cold-chain logistics " + token()
        first = visitor.post_form({"industry": industry, "region": "Nordics", "fresh": "1"}, token=None)
        assert first.status == 403
        assert "submit it again" in first.text
        assert f'value="{industry}"' in first.text and 'value="Nordics"' in first.text
        fresh = re.search(r'name="csrf_token" value="([^"]+)"', first.text)
        assert fresh, "the form came back without a token"
        again = visitor.post_form({"industry": industry, "region": "Nordics", "fresh": "1"}, token=fresh.group(1))
        assert again.status == 303, again.text[:400]
        assert again.headers["location"].startswith("/reports/")
    finally:
        visitor.close()


# ---------------------------------------------------------------- a change shows within a second

def pages(slug: str, word: str) -> tuple[str, ...]:
    """Every cached page a report is on: its page, its Markdown, a library search that finds it, the home page."""
    return (f"/r/{slug}", f"/r/{slug}.md", f"/library?q={word}", "/")


def prime(slug: str, word: str) -> None:
    """Waits until a just inserted report is on every page (inserting it was a change too), then until each page
    comes from the cache with it, so that the change to come has a copy of each to outlive."""
    assert wait_for(lambda: listed(f"/library?q={word}", slug) and listed("/", slug), timeout=5, interval=0.05)
    for path in pages(slug, word):
        reply = cached(path)
        assert reply.status == 200 and (path.startswith("/r/") or f'href="/r/{slug}"' in reply.text), path


def words(reply: Reply) -> str:
    """The text of a page without its markup (a diff marks words one by one)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", reply.text)).split())


def gone(slug: str, word: str) -> bool:
    return curl(url(f"/r/{slug}")).status == 404 and curl(url(f"/r/{slug}.md")).status == 404 \
        and not listed(f"/library?q={word}", slug) and not listed("/", slug)


def test_hiding_with_the_cli_shows_on_every_cached_page_within_a_second(report):
    slug, word = report["slug"], report["word"]
    prime(slug, word)
    seconds = shows_within_a_second(lambda: cli("reports", "hide", slug), lambda: gone(slug, word))
    print(f"hidden report gone from every page after {seconds:.2f} s")


def test_deleting_with_the_cli_shows_on_every_cached_page_within_a_second():
    made = insert_report()
    slug, word = made["slug"], made["word"]
    prime(slug, word)
    seconds = shows_within_a_second(lambda: cli("reports", "delete", slug, "--yes"), lambda: gone(slug, word))
    print(f"deleted report gone from every page after {seconds:.2f} s")


def test_a_completed_report_shows_on_every_cached_page_within_a_second():
    made = insert_report(status="running")
    try:
        slug, word = made["slug"], made["word"]
        cached(f"/library?q={word}")
        cached("/")
        assert not listed(f"/library?q={word}", slug) and curl(url(f"/r/{slug}")).status == 404
        seconds = shows_within_a_second(
            lambda: psql("""UPDATE reports SET status = 'completed', completed_at = now(),
                                content = '# Quillwort\n\nDone.' WHERE public_id = :'id';""", id=made["id"]),
            lambda: listed(f"/library?q={word}", slug) and listed("/", slug)
            and curl(url(f"/r/{slug}")).status == 200 and curl(url(f"/r/{slug}.md")).status == 200)
        print(f"completed report on every page after {seconds:.2f} s")
    finally:
        psql("DELETE FROM reports WHERE public_id = :'id';", id=made["id"])


def test_a_new_version_and_unpublishing_show_within_a_second(report):
    slug, word = report["slug"], report["word"]
    assert "First version" in cached(f"/r/{slug}").text
    assert "First version" in cached(f"/r/{slug}.md").text
    shows_within_a_second(
        lambda: psql("""UPDATE reports SET content = :'content', completed_at = now() WHERE public_id = :'id';""",
                     id=report["id"], content=f"# Quillwort {word}\n\n## Summary\n\nSecond version about {word}.\n"),
        lambda: "Second version" in curl(url(f"/r/{slug}")).text and "Second version" in curl(url(f"/r/{slug}.md")).text)
    for path in pages(slug, word):
        cached(path)
    shows_within_a_second(
        lambda: psql("UPDATE reports SET visibility = 'unlisted' WHERE public_id = :'id';", id=report["id"]),
        lambda: curl(url(f"/r/{slug}")).headers.get("cache-control", "").startswith("private")
        and not listed(f"/library?q={word}", slug) and not listed("/", slug))
    for _ in range(3):
        assert cache_status(curl(url(f"/r/{slug}"))) != "HIT"


def second_version(first: dict[str, str]) -> dict[str, str]:
    """A completed version 2 in `first`'s family (the trigger numbers it)."""
    word = token()
    public_id, slug = f"rpt_cache{word}", f"quillwort-{word}"
    psql("""
        INSERT INTO reports (public_id, title, slug, industry, region, processor, status, visibility, content,
                             family_id, created_at, started_at, completed_at)
        SELECT :'id', title, :'slug', industry, '', 'ultra2x', 'completed', 'public',
               '# Quillwort\n\n## Summary\n\nThe second look.\n', id,
               now() - interval '2 minutes', now() - interval '1 minute', now()
        FROM reports WHERE public_id = :'first';
        """, id=public_id, slug=slug, first=first["id"])
    return {"id": public_id, "slug": slug, "word": word}


def test_the_compare_page_is_cached_and_follows_either_version_within_a_second(report):
    newer = second_version(report)
    try:
        path = f"/r/{newer['slug']}/compare/{report['slug']}"
        first = curl(url(path))
        assert first.status == 200 and "The second look" in words(first), (first.status, first.text[:300])
        assert cached(path).body == first.body
        # A change to the newer version (its content), then the older one hidden: each shows within a second.
        shows_within_a_second(
            lambda: psql("""UPDATE reports SET content = '# Quillwort\n\n## Summary\n\nA third look.\n',
                                completed_at = now() WHERE public_id = :'id';""", id=newer["id"]),
            lambda: "A third look" in words(curl(url(path))))
        cached(path)
        shows_within_a_second(lambda: cli("reports", "hide", report["slug"]), lambda: curl(url(path)).status == 404)
        # A compare page with an unlisted version is private, never stored.
        psql("UPDATE reports SET hidden = false, visibility = 'unlisted' WHERE public_id = :'id';", id=report["id"])
        for _ in range(3):
            reply = curl(url(path))
            assert reply.status == 200 and cache_status(reply) != "HIT"
            assert reply.headers.get("cache-control", "").startswith("private")
    finally:
        psql("DELETE FROM reports WHERE public_id = :'id';", id=newer["id"])


# ---------------------------------------------------------------- for operators

def test_cache_stats_reads_the_hit_ratio_from_the_access_log(report):
    path = f"/r/{report['slug']}"
    cached(path)
    log_dir = os.environ.get("MARKETLENS_LOG_DIR") or os.environ["MARKETLENS_RUN_DIR"] + "/logs"
    # nginx writes its access log as each request ends: the HIT above is in it.
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/cache-stats.py"), "--last", "2000",
                           f"{log_dir}/nginx-access.log"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("/r/{slug} "))
    fields = line.split()
    assert int(fields[2]) >= 1, line  # HIT
    assert fields[-1].endswith("%")
