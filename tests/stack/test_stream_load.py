"""Held event streams cost no request thread and no database connection (issue 11): 200 viewers of one batch's
events and 200 console event relays held open through nginx, while pages still answer at once and the workers'
threads and PostgreSQL connections stay where they were (the test stack allows 1,000 streams per client
address; the cap itself is tested in Swift, LiveStreamTests); and a PostgreSQL restart while pages, creations
and streams are in use answers no 500."""
from __future__ import annotations

import collections
import concurrent.futures
import http.client
import json
import os
import re
import secrets
import ssl
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
import urllib3

from .helpers import curl, database_connections_of, wait_for, worker_pids
from .live_helpers import psql
from .test_console import CONSOLE, call, oauth_key, origin  # noqa: F401  (the fixture is used by name)

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

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


# What one worker may hold at most: issue 11's targets. Its connections are the request threads' pool, the
# monitors' lanes, the replay threads and the LISTEN connection of `ConnectionBudget` (15 with the defaults,
# however many runs, batches and viewers there are).
MAX_CONNECTIONS_PER_WORKER = 16
MAX_THREADS_PER_WORKER = 60


def assert_within_budget() -> None:
    for pid, threads in worker_threads().items():
        assert threads <= MAX_THREADS_PER_WORKER, (pid, threads)
        assert database_connections_of(pid) <= MAX_CONNECTIONS_PER_WORKER, pid


def warm_up(batch: str) -> None:
    """The request threads' pool and the replay threads open their connections on demand: fill the pool first,
    on a route no cache answers (more concurrent requests than the workers have threads), then let a few event
    streams replay the batch's log, so what is counted next is what the viewers add, not the first use of a
    fixed set of connections."""
    stack = os.environ["MARKETLENS_URL"].rstrip("/")
    with concurrent.futures.ThreadPoolExecutor(max_workers=80) as pool:
        list(pool.map(lambda _: curl(stack + f"/research/batch/{batch}", timeout=30), range(320)))
    for held in hold(40, f"/research/batch/{batch}/events"):
        held.close()


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
    warm_up(batch)
    assert_within_budget()
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
        assert_within_budget()
        # 400 viewers; a few threads or connections may come and go meanwhile (a request thread's pooled
        # connection reopened after an earlier test's database restart, a lane reconnecting).
        for pid, count in threads_with.items():
            assert count <= threads_before.get(pid, count) + 4, (threads_before, threads_with)
        assert connections_with <= connections_before + 4, (connections_before, connections_with)
    finally:
        for held in streams:
            held.close()



def restart_postgres() -> None:
    """A fast shutdown (every session is terminated, as in a real restart) and a start, as the stack runs it."""
    data, port = os.environ["POSTGRES_DATA"], os.environ["POSTGRES_PORT"]
    root = Path(__file__).resolve().parents[2]
    subprocess.run(["bash", str(root / "scripts/postgres.sh"), "stop", data, port], check=True, capture_output=True)
    time.sleep(1)
    subprocess.run(["bash", str(root / "scripts/postgres.sh"), "start", data, port], check=True, capture_output=True)


def test_a_database_restart_is_invisible_to_visitors(stack):
    """Pages, report creations and streams in use while PostgreSQL restarts: no 500 at any time (503 with
    Retry-After only while it is down), and afterwards every request thread answers 200 at once, although
    each one's connection was closed by the restart."""
    from .report_flow_helpers import Visitor

    stack = stack.rstrip("/")
    batch = held_batch()
    warm_up(batch)
    held = hold(10, f"/research/batch/{batch}/events")
    statuses: collections.Counter = collections.Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def load(creator: bool) -> None:
        visitor = Visitor()
        created = 0
        try:
            while not stop.is_set():
                replies = [curl(stack + path, timeout=20) for path in ("/", "/library", f"/research/batch/{batch}")]
                if creator and created < 2:
                    # The form's token, as its script fetches it (the cached home page carries none).
                    issued = visitor.get("/csrf-token")
                    replies.append(issued)
                    token = re.search(r'"csrf_token"\s*:\s*"([^"]+)"', issued.text) if issued.status == 200 else None
                    if token:
                        created += 1
                        replies.append(visitor.post_form(
                            {"industry": "Cold-chain logistics", "region": "Europe", "fresh": "1"}, token=token.group(1)))
                with lock:
                    for reply in replies:
                        statuses[reply.status] += 1
                        if reply.status == 503:
                            assert reply.headers.get("retry-after"), reply.text[:200]
        finally:
            visitor.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        running = [pool.submit(load, index < 2) for index in range(6)]
        time.sleep(1)
        restart_postgres()
        time.sleep(2)
        stop.set()
        for future in running:
            future.result()
    for stream in held:
        stream.close()
    assert statuses[500] == 0 and not [s for s in statuses if s >= 500 and s != 503], statuses

    # Afterwards: every request thread of both workers meets its closed connection; none of them may fail,
    # neither a read (retried) nor a write (a batch created; its connection is replaced before it is sent).
    restart_postgres()
    body = {"research_goal": "Find fintech companies", "company_domains": ["stripe.com"], "search_depth": "quick",
            "max_parallel_searches": 5, "confidence_threshold": 0.7}

    def create() -> int:
        response = requests.post(stack + "/research/batch/stream", json=body, stream=True, verify=False,
                                 timeout=(5, 20))
        response.close()
        return response.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        created = list(pool.map(lambda _: create(), range(64)))
        after = list(pool.map(lambda _: curl(stack + "/library", timeout=20).status, range(200)))
    assert created == [200] * 64, collections.Counter(created)
    assert after == [200] * 200, collections.Counter(after)
    # The batches created here finish before the next test needs the monitors.
    assert wait_for(lambda: psql("SELECT count(*) FROM batches WHERE status IN ('queued', 'running') "
                                 "AND lease_owner IS DISTINCT FROM 'held-by-test'") == "0", 120)
    # A stream opened afterwards replays and goes on live.
    viewer = HeldStream(f"/research/batch/{batch}/events", {})
    try:
        assert viewer.status == 200 and b"event: connected" in viewer.first
    finally:
        viewer.close()
