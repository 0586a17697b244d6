"""The API reference page (/api) in headless Chromium: reached from the site's footer, rendered from the OpenAPI
document the server serves, every route of that document listed with a curl command, no console error (the
page has no script and the CSP is the site's)."""
from __future__ import annotations

import json
import os

import requests
import urllib3

from .cdp import Browser

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def base() -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/")


def test_api_page_lists_every_route_of_the_document_without_console_errors(browser: Browser):
    document = requests.get(base() + "/api/v1/openapi.json", verify=False, timeout=20).json()
    routes = sorted((method.upper(), path) for path, item in document["paths"].items()
                    for method in item if method in {"get", "post", "put", "patch", "delete"})
    assert len(routes) >= 16

    browser.navigate(base() + "/")
    browser.wait_for("document.readyState === 'complete'", 10)
    assert browser.evaluate("document.querySelector('footer a[href=\"/api\"]') !== null")
    browser.evaluate("document.querySelector('footer a[href=\"/api\"]').click()")
    assert browser.wait_for("location.pathname === '/api' && document.readyState === 'complete'", 15)

    assert browser.evaluate("document.querySelector('h1').textContent") == "API reference"
    shown = browser.evaluate(
        "[...document.querySelectorAll('article.api-operation')].map(a => [a.dataset.method, a.dataset.path,"
        " a.querySelector('pre.api-curl').textContent])")
    assert sorted((method, path) for method, path, _ in shown) == routes
    for method, path, curl in shown:
        assert curl.startswith("curl "), (method, path, curl)
        assert base() in curl or path in curl, curl
    # What a reader sees of a route: the seed-001 stream's events and its example body.
    text = browser.evaluate("document.getElementById('batchStream').innerText")
    for event in ("connected", "pipeline_start", "domain_analyzed", "pipeline_complete", "stream_error"):
        assert event in text
    assert "research_goal" in text
    # Every index entry leads to its route's section.
    anchors = browser.evaluate("[...document.querySelectorAll('.api-index a')].map(a => a.getAttribute('href'))")
    assert len(anchors) == len(routes)
    assert browser.evaluate(f"{json.dumps(anchors)}.every(h => document.getElementById(h.slice(1)) !== null)")

    browser.pump(0.5)
    assert not browser.exceptions, browser.exceptions
    assert not browser.console_errors, browser.console_errors
    assert not browser.evaluate("document.querySelector('script')"), "the page needs no script"
