"""The official `resend` SDK against the simulator."""
import pytest
import requests
import resend

from conftest import RESEND_KEY

MAIL = {"from": "Market Research <updates@example.app>", "to": ["user@example.com"], "subject": "Your report is ready",
        "html": "<p>Ready</p>"}


@pytest.fixture
def rs(sim, monkeypatch):
    monkeypatch.setattr(resend, "api_url", sim.resend_url)
    monkeypatch.setattr(resend, "api_key", RESEND_KEY)
    sim.control("DELETE", "/outbox")
    return resend


def test_send_and_outbox(sim, rs):
    r = rs.Emails.send(dict(MAIL))
    assert len(r["id"]) == 36
    box = sim.control("GET", "/outbox")["emails"]
    assert [e["id"] for e in box] == [r["id"]] and box[0]["email"]["subject"] == MAIL["subject"]


def test_idempotency(sim, rs):
    a = rs.Emails.send(dict(MAIL), {"idempotency_key": "report-ready/rpt_1"})
    b = rs.Emails.send(dict(MAIL), {"idempotency_key": "report-ready/rpt_1"})
    assert a["id"] == b["id"]
    assert len(sim.control("GET", "/outbox")["emails"]) == 1
    with pytest.raises(resend.exceptions.ResendError) as e:
        rs.Emails.send(dict(MAIL, subject="other"), {"idempotency_key": "report-ready/rpt_1"})
    assert "invalid_idempotent_request" in str(e.value.error_type) or e.value.code == 409


def test_validation_and_auth(sim, rs, monkeypatch):
    with pytest.raises(resend.exceptions.ResendError) as e:
        rs.Emails.send({"from": MAIL["from"], "to": ["a@example.com"], "html": "x"})
    assert e.value.error_type == "missing_required_field"
    monkeypatch.setattr(resend, "api_key", "re_wrong")
    with pytest.raises(resend.exceptions.ResendError) as e:
        rs.Emails.send(dict(MAIL))
    # Resend today: an unknown key on the sending endpoint is 401 validation_error "API key is invalid".
    assert e.value.error_type == "validation_error" and str(e.value.code) == "401"
    r = requests.post(sim.resend_url + "/emails", json=MAIL, timeout=5)
    assert r.status_code == 401 and r.json()["name"] == "missing_api_key"
    r = requests.post(sim.resend_url + "/emails", json=MAIL, headers={"Authorization": f"Bearer {RESEND_KEY}"}, timeout=5)
    assert r.status_code == 200 and r.headers["ratelimit-limit"] and "ratelimit-remaining" in r.headers


def test_resend_faults(sim, rs):
    sim.fault("resend", "429", retry_after="2")
    with pytest.raises(resend.exceptions.ResendError) as e:
        rs.Emails.send(dict(MAIL))
    assert e.value.error_type == "rate_limit_exceeded"
    sim.fault("resend", "5xx", status=502, body="html")
    with pytest.raises(Exception):
        rs.Emails.send(dict(MAIL))
    assert rs.Emails.send(dict(MAIL))["id"]
