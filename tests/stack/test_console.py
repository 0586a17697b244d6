"""The task console through nginx: OAuth through the server relays (upstream-sim as issuer), a run relayed with
the key it issued (create, get, events), refused calls, and no trace of that key in any log or the database."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from .helpers import curl, run_dir

CONSOLE = ["-H", "X-Requested-With: marketlens-console"]


def origin(stack: str) -> str:
    parsed = urllib.parse.urlsplit(stack)
    return f"{parsed.scheme}://{parsed.netloc}"


def call(stack: str, method: str, path: str, *, key: str | None = None, body: object | None = None,
         extra: list[str] | None = None, timeout: float = 30):
    args = ["-X", method, *CONSOLE, "-H", f"Origin: {origin(stack)}", "-H", "Sec-Fetch-Site: same-origin"]
    if key:
        args += ["-H", f"X-Parallel-Key: {key}"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    return curl(stack.rstrip("/") + path, *args, *(extra or []), timeout=timeout)


@pytest.fixture(scope="module")
def oauth_key(stack):
    """A key issued by upstream-sim through the console's OAuth relays, as the browser would get it."""
    start = call(stack, "POST", "/console/oauth/start", body={})
    assert start.status == 200, start.text
    info = json.loads(start.body)
    assert info["redirect_uri"].endswith("/console/callback")
    assert info["scope"] == "key:read"
    verifier = secrets.token_urlsafe(48)[:64]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": info["client_id"], "redirect_uri": info["redirect_uri"],
        "scope": info["scope"], "code_challenge": challenge, "code_challenge_method": "S256", "state": "s-1"})
    authorised = curl(info["authorization_endpoint"] + "?" + query)
    assert authorised.status == 302
    back = urllib.parse.parse_qs(urllib.parse.urlsplit(authorised.headers["location"]).query)
    assert back["state"] == ["s-1"]
    token = call(stack, "POST", "/console/oauth/token",
                 body={"code": back["code"][0], "code_verifier": verifier})
    assert token.status == 200, token.text
    key = json.loads(token.body)["access_token"]
    assert len(key) >= 20
    return key


def test_console_page_is_served_with_a_strict_csp(stack):
    reply = curl(stack.rstrip("/") + "/console")
    assert reply.status == 200
    assert "script-src 'self'" in reply.headers["content-security-policy"]
    assert "ultra8x-fast" in reply.text and "$2400/1k runs" in reply.text
    assert "<script>" not in reply.text


def test_a_run_is_relayed_and_streamed(stack, oauth_key):
    body = {
        "input": "EU cold-chain logistics", "processor": "lite", "enable_events": True,
        "task_spec": {"output_schema": {"type": "json", "json_schema": {
            "type": "object", "properties": {"size": {"type": "string"}}, "required": ["size"],
            "additionalProperties": False}}},
        "source_policy": {"include_domains": ["europa.eu"]}, "metadata": {"sim_duration": 50},
    }
    created = call(stack, "POST", "/console/api/v1/tasks/runs", key=oauth_key, body=body)
    assert created.status == 202, created.text
    run_id = json.loads(created.body)["run_id"]
    fetched = call(stack, "GET", f"/console/api/v1/tasks/runs/{run_id}", key=oauth_key)
    assert fetched.status == 200 and json.loads(fetched.body)["run_id"] == run_id
    events = call(stack, "GET", f"/console/api/v1/tasks/runs/{run_id}/events", key=oauth_key, timeout=60)
    assert events.status == 200
    assert events.headers["content-type"].startswith("text/event-stream")
    assert "event: task_run.state" in events.text
    assert '"status":"completed"' in events.text and '"type":"json"' in events.text
    # The same run is invisible with another key.
    other = call(stack, "GET", f"/console/api/v1/tasks/runs/{run_id}", key="not-the-right-key-123")
    assert other.status == 401


@pytest.mark.parametrize("method,path", [
    ("GET", "/console/api/v1/tasks/groups/tgrp_1"),
    ("POST", "/console/api/v1/tasks/groups"),
    ("POST", "/console/api/v1beta/chat/completions"),
    ("DELETE", "/console/api/v1/tasks/runs/trun_abc"),
    ("GET", "/console/api/v1/tasks/runs"),
    ("GET", "/console/api/__sim/requests"),
    ("GET", "/console/api/v1/tasks/runs/trun_abc/../../groups"),
    ("GET", "/console/api/v1/tasks/runs/trun_a%2F..%2F..%2Fgroups/events"),
])
def test_calls_outside_the_allow_list_are_refused(stack, method, path):
    reply = call(stack, method, path, key="some-key-12345678")
    assert reply.status in (400, 403, 404), (path, reply.status)
    assert reply.status != 200


def test_cross_site_calls_are_refused(stack):
    no_header = curl(stack.rstrip("/") + "/console/api/v1/tasks/runs/trun_abc", "-H", "X-Parallel-Key: k-12345678")
    assert no_header.status == 403
    foreign = call(stack, "GET", "/console/api/v1/tasks/runs/trun_abc", key="k-12345678",
                   extra=["-H", "Origin: https://evil.example"])
    assert foreign.status == 403
    assert json.loads(foreign.body)["error"]["code"] == "csrf_failed"


def test_no_trace_of_the_key_in_logs_or_database(stack, oauth_key):
    # Make sure the key was used at least once in this module, whatever ran before.
    assert call(stack, "GET", "/console/api/v1/tasks/runs/trun_0000", key=oauth_key).status == 404
    needle = oauth_key.encode()
    found = []
    for path in Path(run_dir()).rglob("*"):
        # upstream-sim's own files are Parallel's side of the wire, not our server's.
        if path.is_file() and not path.is_symlink() and "upstream-sim" not in path.name:
            try:
                if needle in path.read_bytes():
                    found.append(str(path))
            except OSError:
                pass
    data_dir = os.environ.get("MARKETLENS_DATA_DIR")
    if data_dir and Path(data_dir).exists():
        for path in Path(data_dir).rglob("*"):
            if path.is_file():
                try:
                    if needle in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    pass
    assert found == [], f"the key was found in {found}"
    dump = subprocess.run(["/usr/lib/postgresql/15/bin/pg_dump", "--data-only", os.environ["DATABASE_URL"]],
                          capture_output=True, timeout=60)
    assert dump.returncode == 0, dump.stderr.decode()[-500:]
    assert needle not in dump.stdout
    # The logs are not empty: the relay did log its calls (without the key).
    log = (Path(run_dir()) / "logs" / "marketlens.log").read_text(errors="replace")
    assert "console relay" in log


def test_the_oauth_code_and_state_stay_out_of_the_access_log(stack):
    code, state = "code_" + secrets.token_hex(12), "state_" + secrets.token_hex(12)
    reply = curl(stack.rstrip("/") + f"/console/callback?code={code}&state={state}")
    assert reply.status == 200
    assert reply.headers.get("referrer-policy") == "no-referrer"
    log = Path(run_dir()) / "logs" / "nginx-access.log"
    text = log.read_text(errors="replace")
    assert "/console/callback" in text, "the callback was not logged at all"
    assert code not in text and state not in text
