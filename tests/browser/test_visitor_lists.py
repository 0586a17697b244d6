"""What a visitor sees in the lists after real actions, in headless Chromium (issue 12): a report they asked
for is listed on / and in /library once finished; a run in progress shows on / with a moving bar; a public
batch is listed on /batch, an unlisted one is not; the live page says how long the run has taken and how long
such runs usually take."""
from __future__ import annotations

import json
import os
import re
import time

import requests
import urllib3

from stack.live_helpers import append, make_report, psql
from stack.report_flow_helpers import word

from .cdp import Browser

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def base() -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/")


def js(value: str) -> str:
    return json.dumps(value)


def reload_until(browser: Browser, path: str, expression: str, timeout: float = 20) -> bool:
    """Loads `path` again until `expression` holds: the lists are cached for a few seconds per worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        browser.navigate(base() + path)
        browser.wait_for("document.readyState === 'complete'", 10)
        if browser.evaluate(expression):
            return True
        time.sleep(0.5)
    return False


def texts(browser: Browser, selector: str) -> list[str]:
    return browser.evaluate(f"[...document.querySelectorAll({js(selector)})].map(e => e.textContent.trim())")


def test_a_report_asked_for_in_the_form_is_listed_on_home_and_in_the_library(browser: Browser):
    industry = f"{word(7).capitalize()} logistics"
    browser.navigate(base() + "/")
    browser.evaluate(f"document.getElementById('industry').value = {js(industry)}")
    browser.evaluate("document.querySelector('input[name=visibility][value=public]').checked = true")
    browser.evaluate("document.querySelector('form.research-form button[type=submit]').click()")
    # The live page follows the run and opens the report when it is done.
    assert browser.wait_for("location.pathname.startsWith('/r/')", 60), browser.evaluate("location.href")
    slug = browser.evaluate("location.pathname").removeprefix("/r/")
    title = browser.evaluate("document.getElementById('report-title').textContent.trim()")
    assert industry.lower() in title.lower(), title

    latest = f"[...document.querySelectorAll('section[aria-labelledby=latest] a')].some(a => " \
             f"a.getAttribute('href') === {js('/r/' + slug)} && a.textContent.trim() === {js(title)})"
    assert reload_until(browser, "/", latest), texts(browser, "section[aria-labelledby=latest] li")
    assert "No reports yet" not in browser.evaluate("document.body.innerText")

    listed = f"[...document.querySelectorAll('main a')].some(a => a.getAttribute('href') === {js('/r/' + slug)} " \
             f"&& a.textContent.includes({js(title)}))"
    assert reload_until(browser, "/library", listed), browser.evaluate("document.querySelector('main').innerText")
    assert not browser.exceptions, browser.exceptions


def test_a_run_in_progress_shows_on_home_with_a_moving_bar(browser: Browser):
    report_id, public_id = make_report()
    item = f"document.querySelector('li[data-report-id={js(public_id)}]')"
    assert reload_until(browser, "/", f"{item} !== null"), texts(browser, "section[aria-labelledby=in-progress] li")
    assert "No research is running right now" not in browser.evaluate("document.body.innerText")
    assert browser.evaluate(f"{item}.querySelector('a').getAttribute('href')") == f"/reports/{public_id}"
    assert browser.evaluate(f"{item}.querySelector('a').textContent") == "Cold-chain logistics"
    # home-live.js follows the first runs listed: the bar moves as progress events arrive.
    assert browser.wait_for(f"{item}.querySelector('progress') !== null", 10)
    for value in (30, 70):
        append(report_id, "progress", {"progress": value, "sources_considered": 9, "sources_read": 3,
                                       "recent_sources": []})
        assert browser.wait_for(f"{item}.querySelector('progress').value === {value}", 15), \
            browser.evaluate(f"{item}.innerText")
        assert browser.evaluate(f"{item}.querySelector('.muted').textContent") == f"{value}%"
    psql(f"UPDATE reports SET status = 'failed', error = 'stopped by the test' WHERE id = {report_id}")
    assert not browser.exceptions, browser.exceptions


def submit_batch(browser: Browser, goal: str, domains: list[str], visibility: str | None) -> str:
    browser.navigate(base() + "/batch")
    if visibility is None:  # the visitor leaves the default
        assert browser.evaluate("document.querySelector('input[name=visibility]:checked').value") == "unlisted"
    else:
        browser.evaluate(f"document.querySelector('input[name=visibility][value={visibility}]').checked = true")
    browser.evaluate(f"document.getElementById('research_goal').value = {js(goal)}")
    browser.evaluate(f"document.getElementById('company_domains').value = {js(chr(10).join(domains))}")
    browser.evaluate("document.getElementById('search_depth').value = 'quick'")
    browser.evaluate("document.querySelector('form.batch-form button[type=submit]').click()")
    assert browser.wait_for("/^\\/batch\\/bat_[a-z0-9]+$/.test(location.pathname)", 20), \
        browser.evaluate("location.href + document.body.innerText")
    batch_id = browser.evaluate("location.pathname").rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = requests.get(f"{base()}/research/batch/{batch_id}", verify=False, timeout=10).json()["status"]
        if state in ("completed", "failed"):
            return batch_id
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not finish")


def test_a_finished_public_batch_is_listed_on_the_batch_page_and_an_unlisted_one_is_not(browser: Browser):
    public_goal = f"Find {word(6)} companies using AI for fraud detection"
    public_id = submit_batch(browser, public_goal, ["stripe.com", "paypal.com"], "public")
    secret_goal = f"Find {word(6)} companies for our confidential acquisition"
    secret_id = submit_batch(browser, secret_goal, ["adyen.com"], None)
    assert len(public_id) - len("bat_") >= 26 and len(secret_id) - len("bat_") >= 26

    listed = f"[...document.querySelectorAll('section[aria-labelledby=recent-batches] a')].some(a => " \
             f"a.getAttribute('href') === {js('/batch/' + public_id)} && a.textContent === {js(public_goal)})"
    assert reload_until(browser, "/batch", listed), texts(browser, "section[aria-labelledby=recent-batches] li")
    section = browser.evaluate("document.querySelector('section[aria-labelledby=recent-batches]').innerText")
    assert "No batches yet" not in section
    assert "completed" in browser.evaluate(
        f"document.querySelector('a[href={js(chr(47) + 'batch' + chr(47) + public_id)}]').parentElement.innerText")
    html = browser.evaluate("document.documentElement.outerHTML")
    assert secret_id not in html and "confidential acquisition" not in html
    # The unlisted batch is still there for whoever has its link.
    browser.navigate(f"{base()}/batch/{secret_id}")
    assert "adyen.com" in browser.evaluate("document.body.innerText")
    assert "unlisted: only people with this link see it" in browser.evaluate("document.body.innerText")
    assert not browser.exceptions, browser.exceptions


def test_the_live_page_says_how_long_it_has_run_and_how_long_such_runs_take(browser: Browser):
    report_id, public_id = make_report()
    psql(f"UPDATE reports SET created_at = now() - interval '125 seconds' WHERE id = {report_id}")
    browser.navigate(f"{base()}/reports/{public_id}")
    first = browser.evaluate("document.getElementById('live-elapsed').textContent")
    assert re.fullmatch(r"2 min 0[5-9] s", first), first
    typical = browser.evaluate("document.getElementById('live-typical').textContent")
    assert "5 – 50 min" in typical and "ultra2x" in typical, typical
    # The clock ticks on its own between events.
    assert browser.wait_for(f"document.getElementById('live-elapsed').textContent !== {js(first)}", 5)
    later = browser.evaluate("document.getElementById('live-elapsed').textContent")
    assert re.fullmatch(r"2 min \d\d s", later) and later > first, (first, later)
    psql(f"UPDATE reports SET status = 'failed', error = 'stopped by the test' WHERE id = {report_id}")
    assert not browser.exceptions, browser.exceptions
