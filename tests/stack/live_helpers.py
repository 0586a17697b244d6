"""Helpers for the live-stream tests: a report and its events written straight into the stack's database,
and a small Server-Sent Events client over TLS (http.client) that reconnects like a browser's EventSource."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field

from sse import Event, events


def psql(sql: str) -> str:
    out = subprocess.run(["psql", os.environ["DATABASE_URL"], "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def make_report(status: str = "running") -> tuple[int, str]:
    """Inserts a report; returns (internal id, public id)."""
    public_id = "rpt_live" + secrets.token_hex(8)
    extra_cols, extra_vals = "", ""
    if status == "completed":
        slug = "cold-chain-" + public_id[-8:]
        extra_cols = ", content, slug, completed_at"
        extra_vals = f", '# Cold-chain logistics', '{slug}', now()"
    internal = psql(
        "INSERT INTO reports (public_id, title, industry, processor, status" + extra_cols + ") VALUES "
        f"('{public_id}', 'Cold-chain logistics Market Research Report', 'Cold-chain logistics', 'ultra2x', "
        f"'{status}'{extra_vals}) RETURNING id")
    return int(internal.splitlines()[0]), public_id


def append(report_id: int, type_: str, payload: dict, count: int = 1) -> None:
    """Appends `count` events in one psql call (each its own statement, so each is notified on its own)."""
    text = json.dumps(payload).replace("'", "''")
    sql = ";".join(f"SELECT append_report_event({report_id}, '{type_}', '{text}'::jsonb)" for _ in range(count))
    psql(sql)


def message(report_id: int, text: str, count: int = 1) -> None:
    append(report_id, "message", {"kind": "search", "text": text, "timestamp": None}, count)


def complete(report_id: int, public_id: str) -> str:
    slug = "cold-chain-" + public_id[-8:]
    psql(f"UPDATE reports SET status = 'completed', content = '# Cold-chain logistics', slug = '{slug}', "
         f"completed_at = now() WHERE id = {report_id}")
    append(report_id, "completed", {"slug": slug, "title": "Cold-chain logistics Market Research Report",
                                     "url": "/r/" + slug})
    return slug


@dataclass
class Viewer:
    """Follows /reports/{id}/events until `completed`/`failed`, reconnecting with Last-Event-ID after a drop."""

    base_url: str
    public_id: str
    last_id: str | None = None
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    connects: int = 0
    retry_ms: int = 2000
    finished: bool = False

    @property
    def ids(self) -> list[int]:
        return [int(e.id) for e in self.events if e.id is not None]

    def open(self):
        parts = urllib.parse.urlsplit(self.base_url)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=context, timeout=30)
        headers = {"Accept": "text/event-stream"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        conn.request("GET", f"/reports/{self.public_id}/events", headers=headers)
        self.connects += 1
        return conn, conn.getresponse()

    def set_retry(self, ms: int) -> None:
        self.retry_ms = ms

    def run_once(self, deadline: float) -> None:
        conn, response = self.open()
        try:
            assert response.status == 200, response.status
            for event in events(response, deadline, on_comment=self.comments.append, on_retry=self.set_retry):
                self.events.append(event)
                if event.id is not None:
                    self.last_id = event.id
                if event.event in ("completed", "failed"):
                    self.finished = True
                    return
        finally:
            conn.close()

    def follow(self, timeout: float = 60, reconnect: bool = True) -> "Viewer":
        deadline = time.monotonic() + timeout
        while not self.finished and time.monotonic() < deadline:
            try:
                self.run_once(deadline)
            except (OSError, http.client.HTTPException):
                pass
            if not reconnect or self.finished:
                break
            time.sleep(min(self.retry_ms, 2000) / 1000)
        return self
