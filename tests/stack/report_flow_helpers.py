"""Helpers for the report-flow tests: the research form through nginx (cookie jar + CSRF token), the stack's
upstream-sim control API, the stack's database, and waiting for reports to finish."""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

from .helpers import Reply, curl, worker_pids

TERMINAL = {"completed", "failed", "cancelled"}


def url(path: str) -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/") + path


def sim_url(path: str) -> str:
    return os.environ["UPSTREAM_SIM_URL"].rstrip("/") + path


def word(length: int = 6) -> str:
    """A pronounceable made-up word (consonant, vowel, …): unique enough to search for, and the simulator's
    validator accepts it (it has vowels, no keyboard runs, no repeated letters)."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "".join(random.choice(consonants if i % 2 == 0 else vowels) for i in range(length))


# ---------------------------------------------------------------- the database

def psql(sql: str, **variables: str) -> str:
    """Runs SQL on the stack's database; values go in as psql variables (:'name'), quoted by psql."""
    args = ["psql", os.environ["DATABASE_URL"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
    for name, value in variables.items():
        args += ["-v", f"{name}={value}"]
    proc = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def report_count() -> int:
    return int(psql("SELECT count(*) FROM reports;"))


def events_of(public_id: str, type_: str) -> int:
    return int(psql("""SELECT count(*) FROM report_events e JOIN reports r ON r.id = e.report_id
                       WHERE r.public_id = :'id' AND e.type = :'type';""", id=public_id, type=type_))


# ---------------------------------------------------------------- upstream-sim

def sim_get(path: str) -> dict:
    reply = curl(sim_url(path))
    assert reply.status == 200, f"GET {path} on the simulator: {reply.status} {reply.text[:200]}"
    return json.loads(reply.body)


def queue_fault(endpoint: str, fault: str, count: int = 1) -> None:
    body = json.dumps({"endpoint": endpoint, "fault": fault, "count": count})
    reply = curl(sim_url("/__sim/faults"), "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", body)
    assert reply.status in (200, 201, 204), f"queueing {fault} on {endpoint}: {reply.status} {reply.text[:200]}"


def clear_faults() -> None:
    curl(sim_url("/__sim/faults"), "-X", "DELETE")


def sim_runs() -> int:
    return int(sim_get("/__sim/health")["runs"])


def create_posts_for(public_id: str) -> list[dict]:
    """Run-create calls the simulator saw whose metadata.report_id is this report."""
    requests = sim_get("/__sim/requests?api=parallel&path=/v1")["requests"]
    return [r for r in requests
            if r["method"] == "POST" and r["path"].rstrip("/") in ("/v1/tasks/runs", "/v1beta/tasks/runs")
            and isinstance(r.get("body"), dict)
            and (r["body"].get("metadata") or {}).get("report_id") == public_id]


def mail_key(entry: dict) -> str:
    """The outbox key of an e-mail the simulated Resend accepted: the app sends in batches (one Idempotency-Key
    per batch), each message naming its own key in its X-Entity-Ref-ID header."""
    headers = (entry.get("email") or {}).get("headers") or {}
    return headers.get("X-Entity-Ref-ID") or entry.get("idempotency_key") or ""


def emails_for(public_id: str, slug: str | None = None) -> list[dict]:
    """E-mails the simulated Resend accepted for this report: by its outbox key or its link."""
    outbox = sim_get("/__sim/outbox")
    entries = outbox.get("emails", outbox) if isinstance(outbox, dict) else outbox
    found = []
    for entry in entries:
        text = json.dumps(entry.get("email", {}))
        if mail_key(entry) == f"report-ready/{public_id}" or (slug and f"/r/{slug}" in text):
            found.append(entry)
    return found


def sim_run(run_id: str) -> dict:
    reply = curl(sim_url(f"/v1/tasks/runs/{run_id}"), "-H", "x-api-key: sim-parallel-key")
    assert reply.status == 200, reply.text[:200]
    return json.loads(reply.body)


# ---------------------------------------------------------------- the research form

class Visitor:
    """A browser-like visitor: one cookie jar across GET / and the form post, like the real form."""

    def __init__(self) -> None:
        handle, self.jar = tempfile.mkstemp(prefix="jar.", dir=os.environ.get("TMPDIR", "/tmp"))
        os.close(handle)

    def close(self) -> None:
        Path(self.jar).unlink(missing_ok=True)

    def get(self, path: str, *args: str) -> Reply:
        return curl(url(path), "-b", self.jar, "-c", self.jar, *args)

    def csrf_token(self) -> str:
        """The token the research form's script fetches (GET /csrf-token, which sets the cookie in the jar)."""
        reply = self.get("/csrf-token")
        assert reply.status == 200, reply.status
        token = json.loads(reply.text)["csrf_token"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token
        return token

    def post_form(self, fields: dict[str, str], token: str | None = "fetch", path: str = "/reports") -> Reply:
        if token == "fetch":
            token = self.csrf_token()
        args: list[str] = ["-X", "POST"]
        if token is not None:
            args += ["--data-urlencode", f"csrf_token={token}"]
        for name, value in fields.items():
            args += ["--data-urlencode", f"{name}={value}"]
        return curl(url(path), "-b", self.jar, "-c", self.jar, *args)


def create_report(industry: str, region: str = "", focus: str = "", email: str = "",
                  visibility: str = "public") -> str:
    """Posts the form as a visitor would and returns the new report's public id (from the 303)."""
    visitor = Visitor()
    try:
        reply = visitor.post_form({"industry": industry, "region": region, "focus": focus, "email": email,
                                   "visibility": visibility, "fresh": "1"})
    finally:
        visitor.close()
    assert reply.status == 303, f"form post answered {reply.status}: {reply.text[:600]}"
    match = re.fullmatch(r"/reports/([A-Za-z0-9_-]+)", reply.headers.get("location", ""))
    assert match, f"unexpected Location {reply.headers.get('location')!r}"
    return match.group(1)


def cache_status(reply: Reply) -> str:
    return reply.headers.get("x-cache-status", "")


def cached(path: str, *args: str) -> Reply:
    """GETs `path` until nginx answers it from its cache, so that a later change has a copy to outlive."""
    for _ in range(40):
        reply = curl(url(path), *args)
        if cache_status(reply) == "HIT":
            return reply
        time.sleep(0.05)
    raise AssertionError(f"{path} never came from the cache (last: {cache_status(reply)!r}, {reply.status})")


def report_state(public_id: str) -> dict:
    reply = curl(url(f"/api/v1/reports/{public_id}"))
    assert reply.status == 200, f"/api/v1/reports/{public_id}: {reply.status} {reply.text[:200]}"
    return json.loads(reply.body)


def wait_until_finished(public_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    state = report_state(public_id)
    while state["status"] not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.2)
        state = report_state(public_id)
    assert state["status"] in TERMINAL, f"report {public_id} still {state['status']} after {timeout}s"
    return state


def wait_for_emails(public_id: str, slug: str | None, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if emails := emails_for(public_id, slug):
            time.sleep(1.5)  # a duplicate would follow within the monitor's next passes
            return emails_for(public_id, slug)
        time.sleep(0.2)
    return []


def lease_owner_pid(public_id: str) -> int | None:
    owner = psql("SELECT coalesce(lease_owner, '') FROM reports WHERE public_id = :'id';", id=public_id)
    if not owner:
        return None
    pid = int(owner.split(":")[-2])
    # Only ever a worker of this stack's supervisor: other stacks may run on this machine.
    return pid if pid in worker_pids() else None


# ---------------------------------------------------------------- inert HTML

class ActiveContent(HTMLParser):
    """Collects what a browser would run: script elements (other than our own static files), event-handler
    attributes, and javascript:/vbscript:/data: URLs in link-like attributes."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "data"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def _check(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.found.append(f"<script {attrs}>")
        if tag in ("iframe", "object", "embed", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in self.URL_ATTRIBUTES and value:
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:")):
                    self.found.append(f"<{tag} {name}={value!r}>")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found
