"""Owners without accounts, through nginx: only a report's own manage token cancels, unlists, deletes or stops
its e-mails (anything else is a 403/404 and changes nothing), the token never shows up in a log, a public page
or the Markdown download, a failed report e-mails its owner the manage link once, and Idempotency-Key makes
concurrent duplicate creations one report and one upstream run."""
from __future__ import annotations

import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .helpers import curl, wait_for
from .live_helpers import Viewer
from .report_flow_helpers import (Visitor, create_posts_for, mail_key, psql, queue_fault, sim_get, url, wait_for_emails,
                                  wait_until_finished, word)

LONG_RUN = "duration;seconds=5000"  # simulated seconds: about 100 s at the test time scale


def api_create(body: dict, *headers: str) -> tuple[int, dict, dict]:
    args = ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    for header in headers:
        args += ["-H", header]
    reply = curl(url("/api/v1/reports"), *args, timeout=60)
    return reply.status, reply.headers, json.loads(reply.body or b"{}")


def create_owned(industry: str, email: str = "", long: bool = True) -> tuple[str, str]:
    """Creates a report over the API; returns (public id, manage token)."""
    if long:
        queue_fault("create", LONG_RUN)
    status, _, body = api_create({"industry": industry, "email": email or None, "fresh": True})
    assert status == 202, (status, body)
    match = re.fullmatch(r"https?://[^/]+/manage/([A-Za-z0-9_-]{32})", body["manage_url"])
    assert match, body["manage_url"]
    return body["id"], match.group(1)


def row(public_id: str) -> str:
    return psql("SELECT status || '|' || visibility || '|' || (email IS NOT NULL) || '|' || (deleted_at IS NOT NULL)"
                " FROM reports WHERE public_id = :'id';", id=public_id)


def owner_call(method: str, path: str, token: str | None, body: dict | None = None):
    args = ["-X", method]
    if token is not None:
        args += ["-H", f"Authorization: Bearer {token}"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    return curl(url(path), *args)


def test_every_owner_action_needs_the_reports_own_token_and_a_refusal_changes_nothing():
    mine, my_token = create_owned(f"Heat pumps {word()}", email=f"owner.{word()}@example.com")
    other, other_token = create_owned(f"Wind turbines {word()}")
    before = row(mine)
    assert before.startswith("queued|public|true|false") or before.startswith("running|public|true|false"), before
    actions = [("DELETE", f"/api/v1/reports/{mine}", None), ("POST", f"/api/v1/reports/{mine}/cancel", None),
               ("PATCH", f"/api/v1/reports/{mine}", {"visibility": "unlisted"}),
               ("PATCH", f"/api/v1/reports/{mine}", {"email_notifications": False})]
    for method, path, body in actions:
        for token, expected in ((None, 403), ("not-a-token", 403), (other_token, 404), ("A" * 32, 404)):
            reply = owner_call(method, path, token, body)
            assert reply.status == expected, (method, path, token, reply.status, reply.text[:200])
            assert json.loads(reply.body)["error"]["code"] in ("forbidden", "not_found")
    # The manage page's forms: another report's token manages that report only; no CSRF token, no action.
    visitor = Visitor()
    try:
        for action in ("cancel", "unlisted", "stop_emails", "delete"):
            assert visitor.post_form({"action": action}, path=f"/manage/{'B' * 32}").status == 404
            assert visitor.post_form({"action": action}, token=None, path=f"/manage/{my_token}").status == 403
            assert visitor.post_form({"action": action}, token="forged", path=f"/manage/{my_token}").status == 403
    finally:
        visitor.close()
    assert row(mine).split("|")[1:] == before.split("|")[1:], row(mine)
    assert row(mine).split("|")[0] in ("queued", "running")
    assert row(other).split("|")[0] in ("queued", "running")

    # With its own token: unlist, stop e-mails, cancel (a viewer sees the end), delete (410 everywhere).
    viewer = Viewer(os.environ["MARKETLENS_URL"], mine)
    watching = threading.Thread(target=viewer.follow, kwargs={"timeout": 30, "reconnect": False})
    watching.start()
    reply = owner_call("PATCH", f"/api/v1/reports/{mine}", my_token, {"visibility": "unlisted",
                                                                      "email_notifications": False})
    assert reply.status == 200 and json.loads(reply.body)["visibility"] == "unlisted", reply.text[:300]
    assert reply.headers["cache-control"] == "no-store"
    reply = owner_call("POST", f"/api/v1/reports/{mine}/cancel", my_token)
    assert reply.status == 200 and json.loads(reply.body)["status"] == "cancelled", reply.text[:300]
    watching.join(35)
    assert viewer.finished and viewer.events[-1].event == "failed", viewer.events[-3:]
    assert "Cancelled by its owner" in viewer.events[-1].data
    assert owner_call("POST", f"/api/v1/reports/{mine}/cancel", my_token).status == 409
    assert row(mine) == "cancelled|unlisted|false|false"
    assert row(other).split("|")[0] in ("queued", "running"), "the other report was touched"
    assert owner_call("DELETE", f"/api/v1/reports/{mine}", my_token).status == 204
    assert owner_call("DELETE", f"/api/v1/reports/{mine}", my_token).status == 410
    assert curl(url(f"/api/v1/reports/{mine}")).status == 410
    assert curl(url(f"/reports/{mine}")).status == 410
    assert curl(url(f"/reports/{mine}/events"), "-H", "Accept: text/event-stream").status == 410
    assert psql("SELECT count(*) FROM report_events e JOIN reports r ON r.id = e.report_id "
                "WHERE r.public_id = :'id';", id=mine) == "0"
    owner_call("POST", f"/api/v1/reports/{other}/cancel", other_token)


def test_the_manage_token_never_appears_in_logs_pages_or_the_download():
    token_word = word()
    public_id, token = create_owned(f"Vertical farming {token_word}", email=f"grower.{token_word}@example.com",
                                    long=False)
    state = wait_until_finished(public_id)
    assert state["status"] == "completed", state
    emails = wait_for_emails(public_id, state["slug"])
    assert emails and token in json.dumps(emails[0]), "the report-ready e-mail carries the manage link"
    manage = curl(url(f"/manage/{token}"))
    assert manage.status == 200 and "Manage your report" in manage.text
    assert manage.headers["cache-control"] == "no-store"
    assert manage.headers["referrer-policy"] == "no-referrer"
    assert "noindex" in manage.text
    pages = [f"/r/{state['slug']}", f"/r/{state['slug']}.md", "/library", f"/library?q={token_word}", "/",
             f"/api/v1/reports/{public_id}", f"/api/v1/reports?q={token_word}", f"/reports/{public_id}/events"]
    for page in pages:
        reply = curl(url(page), "-H", "Accept: text/event-stream" if page.endswith("/events") else "Accept: */*")
        assert token not in reply.text, page
        assert all(token not in value for value in reply.headers.values()), page
    wait_for(lambda: any(Path(os.environ["MARKETLENS_LOG_DIR"]).glob("nginx-access.log*")), 5)
    logs = [p for p in Path(os.environ["MARKETLENS_LOG_DIR"]).iterdir()
            if p.is_file() and (p.name.startswith("nginx") or p.name.startswith("marketlens"))]
    assert any(p.name.startswith("nginx-access") for p in logs)
    for log in logs:
        assert token not in log.read_text(errors="replace"), f"the manage token is in {log.name}"
    assert "/manage/…" in (Path(os.environ["MARKETLENS_LOG_DIR"]) / "nginx-access.log").read_text()


def test_a_failed_report_emails_its_owner_once_with_the_reason_and_the_manage_link():
    queue_fault("create", "run_failed")
    token_word = word()
    public_id, token = create_owned(f"Hydrogen storage {token_word}", email=f"fail.{token_word}@example.com",
                                    long=False)
    assert wait_until_finished(public_id)["status"] == "failed"

    def failed_mails() -> list[dict]:
        outbox = sim_get("/__sim/outbox")
        entries = outbox.get("emails", outbox) if isinstance(outbox, dict) else outbox
        return [e for e in entries if mail_key(e) == f"report-failed/{public_id}"]
    assert wait_for(lambda: failed_mails(), 30), "no failure e-mail"
    wait_for(lambda: False, 1.5)  # a duplicate would follow within the monitor's next passes
    mails = failed_mails()
    assert len(mails) == 1, mails
    text = json.dumps(mails[0])
    assert f"/manage/{token}" in text and "did not finish" in text
    # The link retries it, as the same owner.
    visitor = Visitor()
    try:
        assert visitor.post_form({"action": "retry"}, path=f"/manage/{token}").status == 303
    finally:
        visitor.close()
    retried = psql("SELECT public_id FROM reports WHERE public_id <> :'id' AND manage_token_hash = "
                   "(SELECT manage_token_hash FROM reports WHERE public_id = :'id');", id=public_id)
    assert retried.startswith("rpt_"), retried
    assert len(create_posts_for(retried)) == 1


def test_the_same_creation_sent_five_times_at_once_is_one_report_one_run_and_five_identical_answers():
    industry = f"Modular housing {word()}"
    key = f"idem-{word(10)}"
    body = {"industry": industry, "fresh": True}
    before = int(psql("SELECT count(*) FROM reports WHERE industry = :'i';", i=industry))
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: api_create(body, f"Idempotency-Key: {key}"), range(5)))
    assert [status for status, _, _ in answers] == [202] * 5, answers
    assert all(answer == answers[0][2] for _, _, answer in answers), answers
    assert sum(1 for _, headers, _ in answers if headers.get("idempotent-replayed") == "true") == 4
    assert int(psql("SELECT count(*) FROM reports WHERE industry = :'i';", i=industry)) == before + 1
    assert len(create_posts_for(answers[0][2]["id"])) == 1
    # The same key with another body: 409, nothing created.
    status, _, answer = api_create({"industry": industry + " X", "fresh": True}, f"Idempotency-Key: {key}")
    assert status == 409 and answer["error"]["code"] == "idempotency_key_reused", answer
    assert int(psql("SELECT count(*) FROM reports WHERE industry LIKE :'i';", i=industry + "%")) == before + 1
    # A malformed key is refused before anything happens.
    status, _, answer = api_create(body, "Idempotency-Key: " + "x" * 300)
    assert status == 400, answer


def _first_event(lines) -> dict:
    name, data = None, None
    for raw in lines:
        if raw.startswith("event:"):
            name = raw.split(":", 1)[1].strip()
        elif raw.startswith("data:"):
            data = json.loads(raw.split(":", 1)[1])
        elif raw == "" and name:
            return {"event": name, "data": data}
    raise AssertionError("the stream ended before its first event")


def test_a_repeated_batch_stream_attaches_to_the_same_batch_and_its_manage_link_cancels_it():
    import requests
    key = f"batch-{word(10)}"
    body = {"research_goal": f"Uses Kubernetes {word()}", "search_depth": "comprehensive",
            "max_parallel_searches": 5, "confidence_threshold": 0.7,
            "company_domains": [f"{word()}{i}.example.com" for i in range(40)]}
    headers = {"Idempotency-Key": key}
    first = requests.post(url("/research/batch/stream"), json=body, headers=headers, stream=True, verify=False,
                          timeout=30)
    assert first.status_code == 200
    connected = _first_event(first.iter_lines(decode_unicode=True))
    first.close()
    batch_id = connected["data"]["batch_id"]
    manage = first.headers["X-Manage-URL"]
    assert re.fullmatch(r"https?://[^/]+/manage/[A-Za-z0-9_-]{32}", manage), manage

    again = requests.post(url("/research/batch/stream"), json=body, headers=headers, stream=True, verify=False,
                          timeout=30)
    assert again.status_code == 200 and again.headers["X-Manage-URL"] == manage
    again_lines = again.iter_lines(decode_unicode=True)
    assert _first_event(again_lines)["data"]["batch_id"] == batch_id
    assert psql("SELECT count(*) FROM batches WHERE research_goal = :'g';", g=body["research_goal"]) == "1"
    other = requests.post(url("/research/batch/stream"), json={**body, "search_depth": "quick"}, headers=headers,
                          verify=False, timeout=30)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"

    # The manage link cancels it; the attached stream ends with the seed's fatal event.
    token = manage.rsplit("/", 1)[1]
    visitor = Visitor()
    try:
        page = visitor.get(f"/manage/{token}")
        assert page.status == 200 and batch_id in page.text
        assert visitor.post_form({"action": "cancel"}, path=f"/manage/{token}").status == 303
    finally:
        visitor.close()
    names = [line.split(":", 1)[1].strip() for line in again_lines if line.startswith("event:")]
    again.close()
    assert names[-1] == "stream_error", names[-5:]
    state = requests.get(url(f"/research/batch/{batch_id}"), verify=False, timeout=10).json()
    assert state["status"] == "cancelled"
    assert "manage_url" not in state or state["manage_url"] is None


def test_the_operators_cli_has_the_owners_controls():
    import subprocess
    public_id, _ = create_owned(f"Cold storage {word()}", email=f"cli.{word()}@example.com")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([os.environ["MARKETLENS_BIN"], "reports", *args], capture_output=True, text=True,
                              timeout=60, env=dict(os.environ))
    for args, state in ((("unlist", public_id), "|unlisted|true|"), (("stop-emails", public_id), "|unlisted|false|"),
                        (("cancel", public_id), "cancelled|")):
        done = cli(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert public_id in done.stdout
        assert state in row(public_id), (args, row(public_id))
    again = cli("cancel", public_id)
    assert again.returncode != 0 and "still running" in again.stderr, (again.stdout, again.stderr)


def test_the_synchronous_batch_call_repeats_by_idempotency_key_with_its_manage_link():
    import requests
    body = {"research_goal": f"Sells online {word()}", "company_domains": [f"{word()}.example.com"],
            "search_depth": "quick", "max_parallel_searches": 5, "confidence_threshold": 0.5}
    headers = {"Idempotency-Key": f"sync-{word(10)}"}
    first = requests.post(url("/research/batch"), json=body, headers=headers, verify=False, timeout=120)
    assert first.status_code in (200, 202), first.text[:300]
    document = first.json()
    assert document["manage_url"] == first.headers["X-Manage-URL"]
    assert first.headers["Cache-Control"] == "no-store"
    again = requests.post(url("/research/batch"), json=body, headers=headers, verify=False, timeout=120)
    assert again.json()["batch_id"] == document["batch_id"] and again.json()["manage_url"] == document["manage_url"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert psql("SELECT count(*) FROM batches WHERE research_goal = :'g';", g=body["research_goal"]) == "1"
    # Whoever reads the batch later never sees the link.
    assert "manage_url" not in requests.get(url(f"/research/batch/{document['batch_id']}"), verify=False,
                                            timeout=10).json()
