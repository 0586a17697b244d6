"""A visitor owns what they asked for, in headless Chromium: the manage link is on the live page once (and in
the e-mail), it cancels a running report (every viewer sees the end), and on a second report it unpublishes
(gone from the library) and deletes (410, gone from search and the Markdown download)."""
from __future__ import annotations

import json
import os
import re

from stack.helpers import curl, wait_for
from stack.report_flow_helpers import psql, queue_fault, wait_for_emails, wait_until_finished, word

from .cdp import Browser


def submit_research(browser: Browser, base: str, industry: str, email: str) -> str:
    """Fills the home page's form and clicks its button as a person would (the form's script fetches the CSRF
    token on submit: the cached home page carries none); returns the new report's id (from the live page)."""
    browser.navigate(f"{base}/")
    browser.evaluate(f"""(() => {{
        document.getElementById('industry').value = {json.dumps(industry)};
        document.getElementById('email').value = {json.dumps(email)};
        document.querySelector('form.research-form button[type=submit]').click();
    }})()""")
    browser.wait_for("location.pathname.startsWith('/reports/') && document.readyState === 'complete'", 60)
    return browser.evaluate("location.pathname.split('/')[2]")


def manage_link(browser: Browser) -> str:
    link = browser.wait_for("document.getElementById('manage-link') && document.getElementById('manage-link').href",
                            10)
    assert re.fullmatch(r"https://[^/]+/manage/[A-Za-z0-9_-]{32}", link), link
    return link


def listed(path: str, slug: str) -> bool:
    """Whether any worker still lists `slug` at `path`: each keeps library pages a few seconds
    (LibraryCache.pageTTL), and nginx spreads requests over the workers, so ask several times."""
    return any(slug in curl(os.environ["MARKETLENS_URL"].rstrip("/") + path).text for _ in range(4))


def click(browser: Browser, selector: str) -> None:
    """Clicks a manage page's button once the page shows it; waits for the page after the form's redirect."""
    assert browser.wait_for(f"location.pathname.startsWith('/manage/') && "
                            f"document.querySelector({json.dumps(selector)}) !== null", 15), \
        browser.evaluate("location.href + ' ' + document.body.innerText.slice(0, 500)")
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
    browser.wait_for("document.readyState === 'complete' && document.getElementById('manage-notice') !== null", 30)


def test_the_owner_cancels_unpublishes_and_deletes_with_the_manage_link(browser: Browser):
    base = os.environ["MARKETLENS_URL"].rstrip("/")
    # 1. A long run: the link is on the live page once; it cancels the run and a second viewer sees the end.
    queue_fault("create", "duration;seconds=5000")
    first = submit_research(browser, base, f"Battery recycling {word()}", f"owner.{word()}@example.com")
    link = manage_link(browser)
    browser.reload()
    assert browser.evaluate("document.getElementById('manage-link')") is None, "the link must be shown only once"
    with Browser() as viewer:
        viewer.navigate(f"{base}/reports/{first}")
        assert viewer.evaluate("document.getElementById('live-bar') !== null")
        browser.navigate(link)
        assert "Manage your report" in browser.evaluate("document.body.innerText")
        click(browser, "#manage-cancel")
        assert "cancelled" in browser.evaluate("document.getElementById('manage-notice').textContent")
        viewer.wait_for("document.querySelector('.live-failed') !== null", 20)
        assert "Cancelled by its owner." in viewer.evaluate("document.body.innerText")
    assert psql("SELECT status FROM reports WHERE public_id = :'id';", id=first) == "cancelled"

    # 2. A short run: completed, the e-mail carries the same link; unpublish, then delete.
    marker = word(8)
    queue_fault("create", "duration;seconds=250")  # about 5 s: the live page is seen before it completes
    second = submit_research(browser, base, f"Seaweed farming {marker}", f"reader.{marker}@example.com")
    link = manage_link(browser)
    state = wait_until_finished(second)
    assert state["status"] == "completed", state
    slug = state["slug"]
    emails = wait_for_emails(second, slug)
    assert len(emails) == 1 and link in json.dumps(emails[0]), "the report-ready e-mail carries the manage link"
    assert wait_for(lambda: slug in curl(f"{base}/library?q={marker}").text, 15), "not in the library"

    browser.navigate(link)
    click(browser, "#manage-unlist")
    assert "unlisted" in browser.evaluate("document.getElementById('manage-notice').textContent")
    assert wait_for(lambda: not listed(f"/library?q={marker}", slug) and not listed("/library", slug), 15), \
        "still listed after unpublishing"
    assert curl(f"{base}/r/{slug}").status == 200, "an unlisted report stays readable by its link"

    # Public again (found by search again), then deleted: gone from search for good.
    browser.navigate(link)
    click(browser, "#manage-publish")
    assert wait_for(lambda: slug in curl(f"{base}/library?q={marker}").text, 15), "not found again once public"
    assert curl(f"{base}/r/{slug}.md").status == 200
    browser.navigate(link)
    click(browser, "#manage-delete")
    assert "deleted" in browser.evaluate("document.getElementById('manage-notice').textContent")
    browser.navigate(f"{base}/r/{slug}")
    assert "Gone" in browser.evaluate("document.title") or "deleted" in browser.evaluate("document.body.innerText")
    # Anonymous copies of public pages live in nginx's page cache until the end of their second (issue 17).
    assert wait_for(lambda: curl(f"{base}/r/{slug}").status == 410, 2), "the page is not gone within 1 s"
    assert wait_for(lambda: curl(f"{base}/r/{slug}.md").status == 410, 2), "the download is not gone within 1 s"
    assert curl(f"{base}/reports/{second}").status == 410
    assert wait_for(lambda: not listed(f"/library?q={marker}", slug), 15), "still found by search"
    assert f"Seaweed farming {marker} Market" not in curl(f"{base}/library?q={marker}").text
    assert second not in curl(f"{base}/api/v1/reports?q={marker}").text
    assert not browser.exceptions, browser.exceptions
