"""`POST /emails/batch` through the official SDK (`resend.Batch.send`), as resend.com/docs/api-reference/emails/
send-batch-emails and the SDK's `resend/emails/_batch.py` describe it: a JSON array of 1 to 100 e-mails, one
`Idempotency-Key` for the batch, `{"data":[{"id"},…]}` in request order, `x-batch-validation` strict (the default:
the first invalid e-mail refuses the whole batch) or permissive (`errors: [{index, message}]`, the rest sent)."""
import time

import pytest
import requests
import resend

from conftest import RESEND_KEY, own_sim
from test_resend_sdk import MAIL, rs  # noqa: F401 (rs: the SDK pointed at the simulator, outbox emptied)


def mails(n, **extra):
    return [dict(MAIL, to=[f"user{i}@example.com"], subject=f"Report {i} is ready", **extra) for i in range(n)]


def test_a_batch_is_sent_in_order_and_every_message_is_in_the_outbox(sim, rs):
    answer = rs.Batch.send(mails(3), {"idempotency_key": "batch/1"})
    ids = [d["id"] for d in answer["data"]]
    assert len(ids) == 3 and all(len(i) == 36 for i in ids) and "errors" not in answer
    box = sim.control("GET", "/outbox")["emails"]
    assert [e["id"] for e in box] == ids
    assert [e["email"]["to"] for e in box] == [[f"user{i}@example.com"] for i in range(3)]
    assert all(e["idempotency_key"] == "batch/1" for e in box)
    assert [e["batch"] for e in box] == [{"index": i, "size": 3} for i in range(3)]


def test_the_batch_key_replays_the_same_answer_and_refuses_another_payload(sim, rs):
    first = rs.Batch.send(mails(2), {"idempotency_key": "batch/2"})
    again = rs.Batch.send(mails(2), {"idempotency_key": "batch/2"})
    assert again["data"] == first["data"]
    assert len(sim.control("GET", "/outbox")["emails"]) == 2
    with pytest.raises(resend.exceptions.ResendError) as e:
        rs.Batch.send(mails(3), {"idempotency_key": "batch/2"})
    assert e.value.error_type == "invalid_idempotent_request" and str(e.value.code) == "409"
    # A single-send key and a batch key live apart.
    assert rs.Emails.send(dict(MAIL), {"idempotency_key": "batch/2"})["id"]


def test_strict_mode_refuses_the_whole_batch_with_the_first_error(sim, rs):
    batch = mails(3)
    del batch[1]["to"]
    with pytest.raises(resend.exceptions.ResendError) as e:
        rs.Batch.send(batch)
    assert e.value.error_type == "missing_required_field" and str(e.value.code) == "422"
    assert "`to`" in e.value.message
    assert sim.control("GET", "/outbox")["emails"] == []


def test_permissive_mode_sends_the_valid_ones_and_lists_the_others_by_index(sim, rs):
    batch = mails(4)
    del batch[2]["subject"]
    batch[3]["to"] = ["not-an-address"]
    answer = rs.Batch.send(batch, {"batch_validation": "permissive"})
    assert len(answer["data"]) == 2
    assert [(err["index"], "`subject`" in err["message"]) for err in answer["errors"]] == [(2, True), (3, False)]
    box = sim.control("GET", "/outbox")["emails"]
    assert [e["batch"]["index"] for e in box] == [0, 1]
    assert [e["id"] for e in box] == [d["id"] for d in answer["data"]]


def test_what_a_batch_does_not_take(sim, rs):
    for bad in (mails(1, attachments=[{"filename": "a.txt", "content": "aGk="}]),
                mails(1, scheduled_at="2030-01-10T11:52:01.858Z")):
        with pytest.raises(resend.exceptions.ResendError) as e:
            rs.Batch.send(bad)
        assert e.value.error_type == "validation_error" and str(e.value.code) == "422"
    with pytest.raises(resend.exceptions.ResendError) as e:
        rs.Batch.send(mails(101))
    assert e.value.error_type == "validation_error"
    assert rs.Batch.send(mails(100))["data"][99]["id"]
    headers = {"Authorization": f"Bearer {RESEND_KEY}"}
    for body in ([], {"from": MAIL["from"]}):
        r = requests.post(sim.resend_url + "/emails/batch", json=body, headers=headers, timeout=5)
        assert r.status_code == 422 and r.json()["name"] == "validation_error"
    r = requests.post(sim.resend_url + "/emails/batch", json=mails(1), timeout=5)
    assert r.status_code == 401 and r.json()["name"] == "missing_api_key"
    r = requests.post(sim.resend_url + "/emails/batch", json=mails(1),
                      headers=dict(headers, **{"x-batch-validation": "lenient"}), timeout=5)
    assert r.status_code == 422
    assert requests.get(sim.resend_url + "/emails/batch", headers=headers, timeout=5).status_code == 405
    assert len(sim.control("GET", "/outbox")["emails"]) == 100


def test_an_answer_lost_after_acceptance_is_replayed_under_the_same_key(sim, rs):
    sim.fault("resend", "lost_answer", mode="5xx")
    with pytest.raises(Exception):
        rs.Batch.send(mails(2), {"idempotency_key": "batch/lost"})
    assert len(sim.control("GET", "/outbox")["emails"]) == 2
    again = rs.Batch.send(mails(2), {"idempotency_key": "batch/lost"})
    box = sim.control("GET", "/outbox")["emails"]
    assert [d["id"] for d in again["data"]] == [e["id"] for e in box] and len(box) == 2


@pytest.fixture(scope="module")
def limited():
    for urls in own_sim():
        yield urls["resend"]


def test_a_batch_counts_once_against_the_rate_limit(limited):
    headers = {"Authorization": f"Bearer {RESEND_KEY}"}
    time.sleep(1.1)
    replies = [requests.post(limited + "/emails/batch", json=mails(50), headers=headers, timeout=10) for _ in range(5)]
    if any(r.status_code == 429 for r in replies):
        pytest.skip("this machine took over a second for five requests")
    assert [int(r.headers["ratelimit-remaining"]) for r in replies] == [4, 3, 2, 1, 0]
    assert [int(r.headers["x-resend-daily-quota"]) for r in replies] == [50, 100, 150, 200, 250]
    over = requests.post(limited + "/emails/batch", json=mails(2), headers=headers, timeout=5)
    assert over.status_code == 429 and over.json()["name"] == "rate_limit_exceeded"
