"""Versions in headless Chromium (issue 16): a visitor finds an old report, clicks "Refresh this report" (the
cached page's form fetches its CSRF token like the research form), follows the refresh to version 2, sees both
versions link each other, and opens the compare page: a legend and the market size struck through and inserted."""
from __future__ import annotations

import json
import os

from stack.report_flow_helpers import psql, wait_until_finished, word
from stack.test_owner import create_owned

from .cdp import Browser


def test_a_visitor_refreshes_an_old_report_and_compares_the_two_versions(browser: Browser):
    base = os.environ["MARKETLENS_URL"].rstrip("/")
    first, _ = create_owned(f"Pet insurance {word()}", long=False)
    v1 = wait_until_finished(first, timeout=90)
    assert v1["status"] == "completed", v1
    # Old enough for anyone to refresh (MARKETLENS_REFRESH_AFTER_DAYS is 30).
    psql("UPDATE reports SET completed_at = now() - interval '40 days' WHERE public_id = :'id';", id=first)

    browser.navigate(f"{base}/r/{v1['slug']}")
    assert browser.wait_for("document.getElementById('report-refresh') !== null", 10), \
        browser.evaluate("document.body.innerText.slice(0, 800)")
    browser.evaluate("document.getElementById('report-refresh').click()")
    assert browser.wait_for("location.pathname.startsWith('/reports/')", 30), browser.evaluate("location.href")
    second = browser.evaluate("location.pathname.split('/')[2]")
    assert second != first
    v2 = wait_until_finished(second, timeout=120)
    assert v2["status"] == "completed" and v2["version"] == 2, v2
    assert browser.wait_for(f"location.pathname === {json.dumps('/r/' + v2['slug'])}", 30), \
        browser.evaluate("location.href")  # the live page moves on to the report, as for any report

    text = browser.evaluate("document.getElementById('report-versions').innerText")
    assert "Version 2 of 2" in text, text
    browser.navigate(f"{base}/r/{v1['slug']}")
    browser.wait_for("document.getElementById('report-newer') !== null", 5)
    newer = browser.evaluate("document.querySelector('#report-newer a').getAttribute('href')")
    assert newer == f"/r/{v2['slug']}", newer

    browser.evaluate("document.querySelector('a.versions__compare').click()")
    assert browser.wait_for("location.pathname.includes('/compare/') && document.readyState === 'complete'", 15)
    legend = browser.evaluate("document.getElementById('diff-legend').innerText")
    assert "removed text" in legend and "added text" in legend, legend
    deleted = browser.evaluate("Array.from(document.querySelectorAll('#compare-diff del')).map(e => e.textContent)")
    inserted = browser.evaluate("Array.from(document.querySelectorAll('#compare-diff ins')).map(e => e.textContent)")
    assert deleted and inserted, (deleted, inserted)
    # The struck-through text is red-ish on a tinted background, i.e. styled, not bare.
    styled = browser.evaluate("getComputedStyle(document.querySelector('#compare-diff del')).textDecorationLine")
    assert "line-through" in styled, styled
