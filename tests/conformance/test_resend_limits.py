"""Resend's limits as the service answers today (resend.com/docs/api-reference: rate limit, usage limits, errors):
5 requests per second per team, ratelimit-* and x-resend-daily/monthly-quota headers, 429 rate_limit_exceeded
with retry-after; an unknown key is 401 validation_error today and 403 invalid_api_key in the legacy mode.
A simulator of its own, with the limit on (the shared one has it off for bursty tests)."""
import time

import pytest
import requests
import resend

from conftest import RESEND_KEY, own_sim
from test_resend_sdk import MAIL


@pytest.fixture(scope="module")
def limited():
    for urls in own_sim("--resend-invalid-key", "legacy"):
        yield urls["resend"]


def test_five_requests_a_second_then_429_with_retry_after(limited):
    headers = {"Authorization": f"Bearer {RESEND_KEY}"}
    time.sleep(1.1)
    replies = [requests.post(limited + "/emails", json=MAIL, headers=headers, timeout=5) for _ in range(6)]
    ok, over = replies[:5], replies[5]
    if any(r.status_code == 429 for r in ok):
        pytest.skip("this machine took over a second for five requests")
    assert [r.headers["ratelimit-limit"] for r in ok] == ["5"] * 5
    assert [int(r.headers["ratelimit-remaining"]) for r in ok] == [4, 3, 2, 1, 0]
    assert [int(r.headers["x-resend-daily-quota"]) for r in ok] == [1, 2, 3, 4, 5]
    assert int(ok[-1].headers["x-resend-monthly-quota"]) >= 5
    assert over.status_code == 429 and over.json()["name"] == "rate_limit_exceeded"
    assert over.headers["retry-after"] == "1"
    time.sleep(1.1)
    assert requests.post(limited + "/emails", json=MAIL, headers=headers, timeout=5).status_code == 200


def test_the_sdk_sees_the_limit_and_the_legacy_invalid_key(limited, monkeypatch):
    monkeypatch.setattr(resend, "api_url", limited)
    monkeypatch.setattr(resend, "api_key", "re_not_the_key")
    time.sleep(1.1)
    with pytest.raises(resend.exceptions.ResendError) as e:
        resend.Emails.send(dict(MAIL))
    assert e.value.error_type == "invalid_api_key" and str(e.value.code) == "403"
