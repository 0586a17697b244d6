"""Held event streams cost no request thread and no database connection (issue 11): 200 viewers of one batch's
events and 200 console event relays held open through nginx, while pages still answer at once and the workers'
threads and PostgreSQL connections stay where they were. (The test stack allows 1,000 streams per client
address; the cap itself is tested in Swift, LiveStreamTests.)"""
from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import secrets
import ssl
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from .helpers import curl, run_dir, worker_pids
from .live_helpers import psql
from .test_console import CONSOLE, call, oauth_key, origin  # noqa: F401  (the fixture is used by name)

VIEWERS = 200


def base() -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(os.environ["MARKETLENS_URL"])


class HeldStream:
    """One SSE response held open over its own TLS connection, read until its first event has arrived."""

    def __init__(self, path: str, headers: dict[str, str]):
        url = base()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.connection = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=30)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream", **headers})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.first = b""
        if self.status == 200:
            while b"\n\n" not in self.first:
                line = self.response.fp.readline()
                if not line:
                    break
                self.first += line if line.strip() else b"\n\n"

    def close(self) -> None:
        try:
            self.connection.sock.close()
        except Exception:
            pass
        self.connection.close()


def hold(count: int, path: str, headers: dict[str, str] | None = None) -> list[HeldStream]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(lambda _: HeldStream(path, headers or {}), range(count)))


def held_batch() -> str:
    """A running batch leased by nobody's live monitor (so it stays open), with one stored event."""
    public_id = "bat_held" + secrets.token_hex(6)
    batch_id = psql(
        "INSERT INTO batches (public_id, research_goal, search_depth, processor, max_parallel, confidence_threshold, "
        f"domain_count, status, lease_owner, lease_expires_at) VALUES ('{public_id}', 'Held open', 'quick', 'lite', 5, "
        "0.7, 0, 'running', 'held-by-test', now() + interval '1 hour') RETURNING id").splitlines()[0]
    psql(f"SELECT append_batch_event({batch_id}, 'pipeline_start', '{{\"type\":\"pipeline_start\"}}'::jsonb)")
    return public_id


def worker_threads() -> dict[int, int]:
    counts = {}
    for pid in worker_pids():
        status = Path(f"/proc/{pid}/status").read_text()
        counts[pid] = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))
    return counts


def database_connections() -> int:
    return int(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"))


def warm_up() -> None:
    """Every request thread opens its database connection on its first page: make them all do it first."""
    stack = os.environ["MARKETLENS_URL"].rstrip("/")
    with concurrent.futures.ThreadPoolExecutor(max_workers=80) as pool:
        list(pool.map(lambda _: curl(stack + "/library", timeout=30), range(240)))


def pages_answer_at_once() -> list[float]:
    stack = os.environ["MARKETLENS_URL"].rstrip("/")
    times = []
    for _ in range(20):
        started = time.monotonic()
        reply = curl(stack + "/", timeout=5)
        elapsed = time.monotonic() - started
        assert reply.status == 200
        times.append(elapsed)
    return times


def test_held_batch_and_console_viewers_leave_pages_fast_and_resources_flat(stack, oauth_key):  # noqa: F811
    run = call(stack, "POST", "/console/api/v1/tasks/runs", key=oauth_key,
               body={"input": "Held relay", "processor": "lite", "enable_events": True,
                     "metadata": {"sim_duration": 100_000}})
    assert run.status == 202, run.text
    run_id = json.loads(run.body)["run_id"]
    batch = held_batch()
    warm_up()
    threads_before = worker_threads()
    connections_before = database_connections()

    streams: list[HeldStream] = []
    try:
        streams += hold(VIEWERS, f"/research/batch/{batch}/events")
        assert [s.status for s in streams] == [200] * VIEWERS
        assert all(b"event: connected" in s.first for s in streams)
        console_headers = {"X-Requested-With": "marketlens-console", "Origin": origin(stack),
                           "Sec-Fetch-Site": "same-origin", "X-Parallel-Key": oauth_key}
        relays = hold(VIEWERS, f"/console/api/v1/tasks/runs/{run_id}/events", console_headers)
        streams += relays
        assert [s.status for s in relays] == [200] * VIEWERS
        # Open relays (an event, or the relay's keep-alive while upstream is quiet), not `retry:` refusals.
        assert all(b"event:" in s.first or b": keep-alive" in s.first for s in relays), \
            [s.first[:200] for s in relays if b"event:" not in s.first][:3]

        times = pages_answer_at_once()
        assert max(times) < 1.0, times
        threads_with = worker_threads()
        connections_with = database_connections()
        for pid, count in threads_with.items():
            assert count <= threads_before.get(pid, count) + 2, (threads_before, threads_with)
        assert connections_with <= connections_before + 2, (connections_before, connections_with)
    finally:
        for held in streams:
            held.close()

