"""A person watches a run on /reports/{id} in headless Chromium: the bar moves, the feed fills without
duplicates (also across a reload), and the page ends on the report."""
from __future__ import annotations

import os
import time
from pathlib import Path

from stack.live_helpers import append, complete, make_report, message

from .cdp import Browser

SHOTS = Path(os.environ.get("MARKETLENS_BROWSER_SHOTS", "/tmp/marketlens-browser"))


def progress(report_id: int, value: float, read: int, sources: list[str]) -> None:
    append(report_id, "progress", {"progress": value, "sources_considered": read * 3, "sources_read": read,
                                   "recent_sources": sources})


def test_watching_a_run_to_completion(browser: Browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = os.environ["MARKETLENS_URL"].rstrip("/")
    report_id, public_id = make_report()
    message(report_id, "Planning the research")
    browser.navigate(f"{base}/reports/{public_id}")
    assert browser.evaluate("document.querySelectorAll('#live-feed li').length") == 1
    assert browser.evaluate("document.getElementById('live-bar').value") == 0

    progress(report_id, 20, 4, ["https://example.com/cold-chain", "javascript:alert(1)"])
    message(report_id, "Reading <b>market</b> sizing studies")
    assert browser.wait_for("document.getElementById('live-bar').value === 20", 10)
    assert browser.wait_for("document.querySelectorAll('#live-feed li').length === 2", 10)
    # Text, never HTML; unsafe links never become links.
    assert browser.evaluate("document.querySelector('#live-feed li:last-child').textContent") == \
        "Reading <b>market</b> sizing studies"
    assert browser.evaluate("document.querySelector('#live-feed b')") is None
    assert browser.evaluate("document.querySelectorAll('#live-sources a').length") == 1
    assert browser.evaluate("document.getElementById('live-read').textContent") == "4"

    # A reload re-attaches without duplicating anything.
    browser.call("Page.reload")
    browser.wait_for("document.readyState === 'complete'", 10)
    message(report_id, "Comparing competitors", count=2)
    progress(report_id, 65, 11, ["https://example.org/players"])
    assert browser.wait_for("document.getElementById('live-bar').value === 65", 10)
    assert browser.wait_for("document.querySelectorAll('#live-feed li').length === 4", 10)
    seqs = browser.evaluate("[...document.querySelectorAll('#live-feed li')].map(li => li.dataset.seq)")
    assert len(seqs) == len(set(seqs)), seqs
    time.sleep(0.5)
    browser.screenshot(str(SHOTS / "live-running.png"))
    assert browser.evaluate("document.getElementById('live-percent').textContent") == "65%"

    slug = complete(report_id, public_id)
    assert browser.wait_for(f"location.pathname === '/r/{slug}'", 15), browser.evaluate("location.href")
    assert not browser.exceptions, browser.exceptions


def test_a_failed_run_says_so_and_leaves_the_retry_to_its_owner(browser: Browser):
    base = os.environ["MARKETLENS_URL"].rstrip("/")
    report_id, public_id = make_report()
    browser.navigate(f"{base}/reports/{public_id}")
    from stack.live_helpers import psql
    psql(f"UPDATE reports SET status = 'failed', error = 'The research service is unavailable.' "
         f"WHERE id = {report_id}")
    append(report_id, "failed", {"message": "The research service is unavailable."})
    assert browser.wait_for("document.querySelector('.live-failed') !== null", 15)
    assert "The research service is unavailable." in browser.evaluate("document.body.innerText")
    # Retrying is its owner's, from the private manage link: nobody else gets a button for it.
    assert browser.evaluate("document.querySelector('form[action$=\"/retry\"]')") is None
    assert "manage link" in browser.evaluate("document.querySelector('.live-failed').innerText")
    browser.screenshot(str(SHOTS / "live-failed.png"))
