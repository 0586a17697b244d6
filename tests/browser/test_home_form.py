"""The home page is the same cached page for everyone (no CSRF token in it): in headless Chromium the form's
script fetches a token when the form is used, so sending the form once starts the research."""
from __future__ import annotations

import json
import os

import pytest

from stack.helpers import curl
from stack.report_flow_helpers import word

from .cdp import Browser

pytestmark = pytest.mark.usefixtures("stack")


def test_the_cached_home_page_form_starts_a_report_in_one_submit(browser: Browser):
    base = os.environ["MARKETLENS_URL"].rstrip("/")
    assert curl(base + "/").headers.get("x-cache-status") in ("HIT", "MISS", "EXPIRED", "UPDATING")
    browser.navigate(base + "/")
    assert browser.evaluate("document.querySelector('input[name=csrf_token]').value") == ""
    industry = f"Cold-chain logistics {word()}"
    browser.evaluate(f"document.getElementById('industry').value = {json.dumps(industry)}")
    browser.evaluate("document.querySelector('form.research-form button[type=submit]').click()")
    assert browser.wait_for("location.pathname.startsWith('/reports/')", 30), browser.evaluate("location.href")
    assert browser.wait_for(f"document.body.textContent.includes({json.dumps(industry)})", 10)
    assert not browser.exceptions, browser.exceptions
