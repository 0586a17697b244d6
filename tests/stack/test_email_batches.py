"""E-mail in batches through the real stack (issue 11): many reports completing together get their "report
ready" e-mails in a few `POST /emails/batch` requests to upstream-sim's Resend (counted in its request log), each
e-mail exactly once (250 due at once: three requests); a batch whose answer is lost after Resend accepted it (a 5xx, a dropped connection) is sent
again with the same members under the same Idempotency-Key, and nothing is sent twice."""
from __future__ import annotations

import json
from collections import Counter

import pytest
import requests

from .helpers import wait_for
from .report_flow_helpers import mail_key, psql, queue_fault, sim_get, sim_url, word

pytestmark = pytest.mark.usefixtures("stack")

REPORTS = 60


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def start_reports(count: int) -> tuple[list[str], int]:
    """Runs upstream that go on until told to finish, and queued reports (with an address) that follow them."""
    http, tag = session(), word()
    ids = []
    for index in range(count):
        public_id = f"rpt_mail{tag}{index}"
        reply = http.post(sim_url("/v1/tasks/runs"), headers={"x-api-key": "sim-parallel-key"}, timeout=10, json={
            "input": "Industry: cold-chain logistics", "processor": "lite", "enable_events": True,
            "task_spec": {"output_schema": {"type": "text", "description": "report"}},
            "metadata": {"report_id": public_id, "sim_duration": 3000}})
        assert reply.status_code == 202, reply.text
        psql("""INSERT INTO reports (public_id, task_run_id, title, industry, region, processor, email, status)
                VALUES (:'id', :'run', 'Cold chain: Market Research Report', 'Cold chain', 'EU', 'lite',
                        'reader@example.org', 'queued');""", id=public_id, run=reply.json()["run_id"])
        ids.append((public_id, reply.json()["run_id"]))
    # Once the monitors follow them all (each holds a lease), they finish together.
    assert wait_for(lambda: psql("""SELECT count(*) FROM reports WHERE lease_owner IS NOT NULL
                                    AND public_id LIKE :'p';""", p=f"rpt_mail{tag}%") == str(count),
                    timeout=60, interval=0.2)
    before = sim_get("/__sim/requests?api=resend")["last_seq"]
    for _, run_id in ids:
        assert http.post(sim_url(f"/__sim/runs/{run_id}/complete"), timeout=10).status_code == 200
    return [public_id for public_id, _ in ids], before


def sent(public_ids: list[str], since: int) -> tuple[list[dict], Counter]:
    """Waits until every report's e-mail row is sent; returns the Resend requests since `since` and how often
    the simulator accepted each report's e-mail."""
    keys = {f"report-ready/{p}" for p in public_ids}
    pattern = public_ids[0][:-1] + "%"
    assert wait_for(lambda: psql("""SELECT count(*) FROM email_outbox o JOIN reports r ON r.id = o.report_id
                                    WHERE r.public_id LIKE :'p' AND o.status = 'sent';""", p=pattern)
                    == str(len(public_ids)), timeout=120, interval=0.3), \
        psql("SELECT status, last_error FROM email_outbox ORDER BY id DESC LIMIT 3;")
    log = [r for r in sim_get(f"/__sim/requests?api=resend&since={since}")["requests"] if r["method"] == "POST"]
    accepted = Counter(mail_key(e) for e in sim_get("/__sim/outbox")["emails"] if mail_key(e) in keys)
    return log, accepted


def batch_key(request: dict) -> str:
    return {k.lower(): v for k, v in request["headers"].items()}["idempotency-key"]


def test_reports_completing_together_get_their_emails_in_batches_each_once():
    public_ids, since = start_reports(REPORTS)
    log, accepted = sent(public_ids, since)
    assert [r for r in log if r["path"] == "/emails"] == [], "no e-mail is sent on its own"
    batches = [r for r in log if r["path"] == "/emails/batch"]
    # Each monitor pass (every 0.25 s here) sends what became due since the one before in one request: how many
    # requests follows how the completions spread over the passes (one run here: 12 requests over 3 s;
    # another, while others were building: 31), not the number of e-mails. The test below has them due at once.
    print(f"{REPORTS} e-mails in {len(batches)} batch requests: {[len(r['body']) for r in batches]}")
    assert sorted(accepted) == sorted(f"report-ready/{p}" for p in public_ids)
    assert set(accepted.values()) == {1}, "every e-mail exactly once"


def test_emails_due_at_once_go_in_as_few_requests_as_the_batch_limit_allows():
    """250 e-mails due at the same moment (as when that many reports finish within one monitor pass): three
    requests of at most 100 (two workers claiming at once may split one more), each e-mail once."""
    tag, count = word(), 250
    since = sim_get("/__sim/requests?api=resend")["last_seq"]
    psql("""INSERT INTO email_outbox (kind, idempotency_key, to_address, subject, html_body, text_body)
            SELECT 'report_ready', 'bulk-' || :'tag' || '/' || i, 'reader' || i || '@example.org',
                   'Your report is ready', '<p>Ready</p>', 'Ready'
            FROM generate_series(1, :'count'::int) AS i;""", tag=tag, count=str(count))
    assert wait_for(lambda: psql("""SELECT count(*) FROM email_outbox WHERE idempotency_key LIKE :'p'
                                    AND status = 'sent';""", p=f"bulk-{tag}/%") == str(count),
                    timeout=60, interval=0.2)
    batches = [r for r in sim_get(f"/__sim/requests?api=resend&since={since}")["requests"]
               if r["method"] == "POST" and r["path"] == "/emails/batch"]
    sizes = {batch_key(r): len(r["body"]) for r in batches}  # a repeat (after a 429) is the same batch
    print(f"{count} e-mails due at once: {len(sizes)} batches {sorted(sizes.values(), reverse=True)}, "
          f"{len(batches)} requests")
    assert sum(sizes.values()) == count and max(sizes.values()) <= 100
    assert len(sizes) <= 4, sizes
    accepted = Counter(mail_key(e) for e in sim_get("/__sim/outbox")["emails"] if mail_key(e).startswith(f"bulk-{tag}/"))
    assert len(accepted) == count and set(accepted.values()) == {1}


def test_a_batch_whose_answer_is_lost_is_sent_again_under_its_key_and_nothing_twice():
    queue_fault("resend", "lost_answer;mode=5xx")
    queue_fault("resend", "lost_answer;mode=close")
    public_ids, since = start_reports(20)
    log, accepted = sent(public_ids, since)
    batches = [r for r in log if r["path"] == "/emails/batch"]
    by_key: dict[str, list[dict]] = {}
    for r in batches:
        by_key.setdefault(batch_key(r), []).append(r)
    repeated = {k: rs for k, rs in by_key.items() if len(rs) > 1}
    assert repeated, "the batches whose answers were lost were sent again under their keys"
    for key, tries in repeated.items():
        assert len({json.dumps(t["body"], sort_keys=True) for t in tries}) == 1, f"{key}: same members each time"
    assert sorted(accepted) == sorted(f"report-ready/{p}" for p in public_ids)
    assert set(accepted.values()) == {1}, f"sent twice: {[k for k, n in accepted.items() if n > 1]}"
    sim_ids = {e["id"] for e in sim_get("/__sim/outbox")["emails"]}
    provider = psql("""SELECT string_agg(o.provider_id, ' ') FROM email_outbox o JOIN reports r ON r.id = o.report_id
                       WHERE r.public_id LIKE :'p';""", p=public_ids[0][:-1] + "%").split()
    assert len(provider) == 20 and set(provider) <= sim_ids
