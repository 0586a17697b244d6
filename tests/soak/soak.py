#!/usr/bin/env python3
"""`make soak`: every fault at once on a small multi-host cluster, and an account of everything created.

  tests/soak/soak.py [--duration S] [--app-hosts N] [--workers N] [--report-every S] [--viewers N] ...

Builds tests/soak/cluster.py's cluster (network namespaces on this machine; run as root), then for the duration:
reports (most with an e-mail address) and batches created at a steady rate through the front balancer, live
viewers that follow each report's /reports/{id}/events and reconnect with Last-Event-ID as EventSource does, and
faults on a schedule: kill -9 of a random worker every --kill-every seconds, upstream 429/5xx on creates, dropped
and stalled upstream streams, Resend 5xx, one PostgreSQL restart, one application host removed (processes killed,
link cut) and brought back. Then it waits for everything to finish, accounts for every report, batch, event,
e-mail and upstream run, prints a table, and exits 1 on any loss, duplicate, disorder or unexpected 5xx.
Only public behaviour is used: the HTTP API, the live streams and the simulator's inspection API.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import ssl
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cluster import ROOT, Cluster  # noqa: E402
from sse import events  # noqa: E402

TERMINAL = {"completed", "failed", "cancelled"}
T0 = time.monotonic()


def now() -> float:
    return time.monotonic() - T0


def log(message: str) -> None:
    print(f"[soak {now():6.1f}s] {message}", flush=True)


def word(rng: random.Random, length: int = 7) -> str:
    """A pronounceable made-up word: unique enough to tell reports apart; the simulator's validator accepts it."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    return "".join(rng.choice(consonants if i % 2 == 0 else vowels) for i in range(length))


class HTTP:
    """One HTTPS request at a time to a host, unverified (the cluster's certificates are self-signed)."""

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    def __init__(self, host: str, sources: list[str], timeout: float = 20) -> None:
        self.host, self.sources, self.timeout = host, sources, timeout

    def connect(self) -> http.client.HTTPSConnection:
        """A connection from one of the client host's addresses (a browser among many)."""
        return http.client.HTTPSConnection(self.host, 443, context=self.context, timeout=self.timeout,
                                           source_address=(random.choice(self.sources), 0))


@dataclass
class Answer:
    at: float
    status: int  # 0: no answer (connection refused/reset/timeout)
    what: str


@dataclass
class Stats:
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, what: str) -> None:
        with self.lock:
            self.answers.append(Answer(now(), status, what))


def request(client: HTTP, stats: Stats, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
    conn = client.connect()
    try:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        stats.record(response.status, f"{method} {path.split('?')[0]}")
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None
    except (OSError, http.client.HTTPException):
        stats.record(0, f"{method} {path.split('?')[0]}")
        return 0, None
    finally:
        conn.close()


# ---------------------------------------------------------------- live viewers

FRAMING = {"connected", "heartbeat", "disconnected"}

@dataclass
class Viewer:
    """Follows a stream until its last event, reconnecting with Last-Event-ID after a drop (as EventSource)."""

    client: HTTP
    stats: Stats
    path: str
    last_events: tuple[str, ...]
    ids: list[int] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    last_id: str | None = None
    connects: int = 0
    starts: list[int] = field(default_factory=list)  # index into `ids` where each connection's events begin
    finished: bool = False
    retry_ms: int = 1000
    error: str = ""

    def set_retry(self, ms: int) -> None:
        self.retry_ms = ms

    def run_once(self, deadline: float) -> None:
        conn = self.client.connect()
        answered = False
        try:
            headers = {"Accept": "text/event-stream"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            conn.request("GET", self.path, headers=headers)
            self.connects += 1
            self.starts.append(len(self.ids))
            response = conn.getresponse()
            answered = True
            self.stats.record(response.status, "GET events")
            if response.status != 200:
                response.read()
                return
            for event in events(response, deadline, on_retry=self.set_retry):
                # The seed-001 batch framing repeats the stream's cursor on its own notices (`connected`,
                # `heartbeat`, `disconnected`, and the `error` of a failed read): those are not stored events.
                framing = event.event in FRAMING or (event.event == "error" and event.id == self.last_id)
                if event.id is not None and not framing:
                    self.ids.append(int(event.id))
                    self.arrivals.append(now())
                    self.last_id = event.id
                if event.event in self.last_events:
                    self.finished = True
                    return
        except (OSError, http.client.HTTPException):
            # A stream cut after its answer is what a killed worker or host does: the viewer reconnects. No answer
            # at all counts like a 5xx.
            if not answered:
                self.stats.record(0, "GET events")
        finally:
            conn.close()

    def follow(self, until: float) -> None:
        deadline = time.monotonic() + until
        while not self.finished and time.monotonic() < deadline:
            self.run_once(deadline)
            if not self.finished:
                time.sleep(min(self.retry_ms, 3000) / 1000 * random.uniform(0.5, 1.0))

    def describe_repeats(self) -> str:
        """Where a viewer saw an id again or out of order, and whether that was at the start of a reconnection."""
        spots = []
        for i in range(1, len(self.ids)):
            if self.ids[i] <= self.ids[i - 1]:
                where = "first event after a reconnect" if i in self.starts else "inside one connection"
                spots.append(f"id {self.ids[i]} after {self.ids[i - 1]} ({where}, connection {sum(1 for s in self.starts if s <= i)})")
        return f"{self.path}: " + "; ".join(spots[:4])

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)


def check_sequence(ids: list[int], reference: list[int]) -> tuple[int, int, int]:
    """(lost, duplicated, reordered) of a viewer's event ids against the complete sequence."""
    duplicated = len(ids) - len(set(ids))
    lost = len(set(reference) - set(ids))
    reordered = sum(1 for a, b in zip(ids, ids[1:]) if b < a)
    return lost, duplicated, reordered


# ---------------------------------------------------------------- the soak

@dataclass
class Report:
    id: str
    email: str
    created_at: float
    viewers: list[Viewer] = field(default_factory=list)


@dataclass
class Batch:
    id: str
    created_at: float
    viewer: Viewer | None = None


class Soak:
    def __init__(self, args, cluster: Cluster) -> None:
        self.args, self.cluster = args, cluster
        self.client = HTTP(cluster.address["lb"], cluster.client_addresses)
        self.stats = Stats()
        self.rng = random.Random(args.seed)
        self.reports: list[Report] = []
        self.batches: list[Batch] = []
        self.create_failures: list[Answer] = []
        self.threads: list[threading.Thread] = []
        self.faults: Counter = Counter()
        self.windows: list[tuple[str, float, float]] = []  # (kind, from, to): 5xx allowed inside host removal
        self.removal: tuple[str, float] | None = None
        self.takeovers: dict[tuple[str, str], float] = {}  # run → seconds from host removal to a new lease
        self.restored_at: float | None = None
        self.db_outage = 0.0
        self.kills: list[float] = []
        self.db_window = (-1.0, -1.0)
        self.stop = threading.Event()
        self.fault_lock = threading.Lock()

    def spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    # ------------------------------------------------------------ load

    def create_report(self, n: int, via: str | None = None) -> None:
        """One report with its viewers; `via` an application host creates it there instead of through the balancer."""
        email = f"soak.reader{n}@example.com" if self.rng.random() < self.args.email_share else ""
        body = {"industry": f"{word(self.rng).capitalize()} {word(self.rng)} services", "region": "Nordics",
                "focus": "", "email": email, "visibility": "public", "fresh": True}
        client = HTTP(self.cluster.address[via], self.cluster.client_addresses) if via else self.client
        status, answer = request(client, self.stats, "POST", "/api/v1/reports", body)
        if status != 202 or not answer or "id" not in answer:
            self.create_failures.append(Answer(now(), status, f"report {n}: {str(answer)[:160]}"))
            return
        report = Report(answer["id"], email, now())
        self.reports.append(report)
        for _ in range(self.args.viewers):
            viewer = Viewer(self.client, self.stats, f"/reports/{report.id}/events", ("completed", "failed"))
            report.viewers.append(viewer)
            self.spawn(self.watch, viewer, self.rng.uniform(0, 4))

    def watch(self, viewer: Viewer, delay: float) -> None:
        time.sleep(delay)
        viewer.follow(self.args.duration + self.args.drain)

    def create_batch(self, n: int) -> None:
        domains = self.rng.sample(["stripe.com", "paypal.com", "adyen.com", "klarna.com", "wise.com"], 2)
        body = {"research_goal": f"Find fintech companies using AI for fraud detection ({n})",
                "company_domains": domains, "search_depth": "standard", "max_parallel_searches": 5,
                "confidence_threshold": 0.7}
        conn = self.client.connect()
        try:
            conn.request("POST", "/research/batch/stream", body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json", "Accept": "text/event-stream"})
            response = conn.getresponse()
            self.stats.record(response.status, "POST /research/batch/stream")
            batch_id = response.getheader("X-Batch-ID")
            if response.status != 200 or not batch_id:
                self.create_failures.append(Answer(now(), response.status, f"batch {n}: {response.read()[:160]!r}"))
                return
        except (OSError, http.client.HTTPException) as error:
            self.stats.record(0, "POST /research/batch/stream")
            self.create_failures.append(Answer(now(), 0, f"batch {n}: {error}"))
            return
        finally:
            conn.close()
        # The creator's own stream is closed at once; the batch goes on, and a viewer follows it from the start.
        batch = Batch(batch_id, now())
        batch.viewer = Viewer(self.client, self.stats, f"/research/batch/{batch_id}/events", ("completed",))
        self.batches.append(batch)
        self.spawn(self.watch, batch.viewer, 0)

    def load(self) -> None:
        n, next_report, next_batch = 0, now(), now() + 2
        end = self.args.duration * 0.85
        while now() < end and not self.stop.is_set():
            if now() >= next_report:
                n += 1
                self.spawn(self.create_report, n)
                next_report += self.args.report_every
            if now() >= next_batch:
                self.spawn(self.create_batch, n)
                next_batch += self.args.batch_every
            time.sleep(0.05)

    # ------------------------------------------------------------ faults

    def sim(self, method: str, path: str, body: dict | None = None):
        conn = http.client.HTTPConnection(self.cluster.address["sim"], 18080, timeout=30)
        try:
            conn.request(method, path, body=json.dumps(body).encode() if body else None,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return json.loads(response.read() or b"null")
        finally:
            conn.close()

    def upstream_fault(self, endpoint: str, fault: str, kind: str, count: int = 1, **params) -> None:
        self.sim("POST", "/__sim/faults", {"endpoint": endpoint, "fault": fault, "count": count, **params})
        self.faults[kind] += count

    def live_hosts(self) -> list[str]:
        return [h for h in self.cluster.app_hosts if not (self.removal and self.removal[0] == h and not self.restored_at)]

    def kill_workers(self) -> None:
        while not self.stop.wait(self.args.kill_every):
            if now() > self.args.duration:
                return
            with self.fault_lock:
                if self.cluster.kill_random_worker(self.live_hosts()):
                    self.faults["kill -9 worker"] += 1
                    self.kills.append(now())

    def schedule(self) -> None:
        d = self.args.duration
        plan = [
            (0.10, self.fault_upstream_errors), (0.20, self.fault_streams), (0.35, self.fault_database),
            (0.45, self.fault_upstream_errors), (0.55, self.fault_remove_host), (0.55 + self.args.host_down / d,
                                                                                  self.fault_restore_host),
            (0.70, self.fault_streams),
        ]
        if d < 300:  # the short soak: every fault once
            plan = [(0.10, self.fault_upstream_errors), (0.18, self.fault_streams), (0.30, self.fault_database),
                    (0.45, self.fault_remove_host), (0.45 + self.args.host_down / d, self.fault_restore_host)]
        for fraction, action in sorted(plan, key=lambda p: p[0]):
            while now() < fraction * d:
                if self.stop.wait(0.2):
                    return
            try:
                action()
            except Exception as error:  # a fault that cannot be injected fails the soak, loudly
                log(f"fault {action.__name__} failed: {error!r}")
                self.faults[f"{action.__name__} FAILED"] += 1

    def fault_upstream_errors(self) -> None:
        self.upstream_fault("create", "429", "upstream 429 on create", count=2, retry_after="1")
        self.upstream_fault("create", "5xx", "upstream 5xx on create", count=2, status="503")
        self.upstream_fault("result", "5xx", "upstream 5xx on result", count=2, status="502")
        self.upstream_fault("resend", "5xx", "Resend 5xx", count=2, status="500")
        log("queued upstream 429/5xx (create, result) and Resend 5xx")

    def fault_streams(self) -> None:
        self.upstream_fault("events", "stream_drop", "upstream stream dropped", count=3, after="2")
        self.upstream_fault("events", "stream_stall", "upstream stream stalled", count=2, after="1", seconds="30")
        log("queued dropped and stalled upstream event streams")

    def fault_database(self) -> None:
        log("restarting PostgreSQL")
        started = now()
        self.db_outage = self.cluster.restart_db()
        self.db_window = (started, now() + 1)
        self.faults["PostgreSQL restart"] += 1
        log(f"PostgreSQL back after {self.db_outage:.1f}s")

    def fault_remove_host(self) -> None:
        host = self.cluster.app_hosts[-1]
        # The runs this host's workers follow are the ones whose takeover is measured: make sure there are some
        # (reports created on the host itself, and a wait until its monitors hold leases).
        for n in range(2):
            self.create_report(-(n + 1), via=host)
        deadline = now() + 20
        while not self.orphans_of(host) and now() < deadline and not self.stop.is_set():
            time.sleep(0.5)
        with self.fault_lock:
            orphans = self.orphans_of(host)
            dead = set(self.cluster.pids(host))
            self.removal = (host, now())
            self.cluster.cut(host)
            killed = self.cluster.kill_host(host)
        self.faults["application host removed"] += 1
        log(f"removed {host}: link cut, {killed} processes killed, {len(orphans)} runs leased there")
        self.spawn(self.watch_takeover, orphans, dead, self.removal[1])

    def leases(self) -> list[tuple[str, str, str, str]]:
        """(kind, id, status, lease owner) of every run that is not finished, straight from the database."""
        sql = ("SELECT 'report', id::text, status, coalesce(lease_owner, '') FROM reports WHERE status IN ('queued','running') "
               "UNION ALL SELECT 'batch', id::text, status, coalesce(lease_owner, '') FROM batches "
               "WHERE status IN ('queued','running')")
        out = self.cluster.exec_in("db", "psql", "-X", "-At", "-F", "\t", self.cluster.database_url, "-c", sql,
                                   check=False, timeout=20)
        if out.returncode != 0:
            log(f"cannot read leases: {out.stderr.strip()[:200]}")
        return [tuple(line.split("\t")) for line in out.stdout.splitlines() if line.count("\t") == 3]

    @staticmethod
    def owner_pid(owner: str) -> int | None:
        match = re.search(r":(\d+):", owner)  # lease owners are `hostname:pid:random`
        return int(match.group(1)) if match else None

    def orphans_of(self, host: str) -> dict[tuple[str, str], str]:
        pids = set(self.cluster.pids(host))
        return {(kind, run): owner for kind, run, _, owner in self.leases() if self.owner_pid(owner) in pids}

    def watch_takeover(self, orphans: dict[tuple[str, str], str], dead: set[int], removed_at: float) -> None:
        """When each run leased on the removed host was leased by a live process (or finished)."""
        waiting = dict(orphans)
        while waiting and now() - removed_at < 120:
            time.sleep(0.5)
            current = {(kind, run): owner for kind, run, _, owner in self.leases()}
            for key in list(waiting):
                owner = current.get(key)
                if owner is None or (owner and self.owner_pid(owner) not in dead):
                    self.takeovers[key] = now() - removed_at
                    del waiting[key]
        for key in waiting:
            self.takeovers[key] = float("inf")

    def fault_restore_host(self) -> None:
        host = self.removal[0]
        log(f"bringing {host} back")
        self.cluster.mend(host)
        self.cluster.start_app(host)
        self.restored_at = now()
        log(f"{host} is back")

    # ------------------------------------------------------------ run and account

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        log(f"soak for {self.args.duration:.0f}s: a report every {self.args.report_every}s with {self.args.viewers} "
            f"viewers, a batch every {self.args.batch_every}s, kill -9 of a worker every {self.args.kill_every}s")
        for target in (self.load, self.kill_workers, self.schedule):
            threading.Thread(target=target, daemon=True, name=target.__name__).start()
        while now() < self.args.duration and not self.stop.is_set():
            time.sleep(0.5)
        self.stop.set()
        log(f"load over; draining (up to {self.args.drain:.0f}s)")
        deadline = time.monotonic() + self.args.drain
        for thread in list(self.threads):
            thread.join(max(0.1, deadline - time.monotonic()))
        return self.account()

    def final_state(self, report: Report) -> dict:
        for _ in range(30):
            status, body = request(self.client, Stats(), "GET", f"/api/v1/reports/{report.id}")
            if status == 200 and body:
                if body.get("status") in TERMINAL:
                    return body
            time.sleep(1)
        return body or {"status": f"unknown ({status})"}

    def reference(self, path: str, last: tuple[str, ...]) -> list[int]:
        viewer = Viewer(self.client, Stats(), path, last)
        viewer.follow(30)
        return viewer.ids if viewer.finished else []

    def account(self) -> int:
        problems: list[str] = []
        # Upstream runs created per report, from the simulator's log (one line per run it created).
        runs = Counter(re.findall(r"created run \S+ processor=\S+ report_id=(\S+)", self.cluster.sim_log.read_text()))
        outbox = self.sim("GET", "/__sim/outbox")["emails"]
        # Sent in batches: each message names its outbox key in X-Entity-Ref-ID (the batch has the Idempotency-Key).
        emails = Counter(((e.get("email") or {}).get("headers") or {}).get("X-Entity-Ref-ID", e.get("idempotency_key", ""))
                         .removeprefix("report-ready/") for e in outbox)
        counts = Counter()
        events_checked = lost = duplicated = reordered = reconnects = viewers = 0
        removal_at = self.removal[1] if self.removal else None
        takeover = 0.0
        for report in self.reports:
            state = self.final_state(report)
            status = state.get("status")
            counts[f"reports {status}"] += 1
            if status == "failed":
                if not state.get("error"):
                    problems.append(f"report {report.id} failed without a reason")
                counts[f"  failed: {str(state.get('error'))[:44]}…"] += 1
            elif status != "completed":
                problems.append(f"report {report.id} did not finish: {status}")
            # A create refused by upstream (after the client's retries) fails the report with a reason, no run.
            refused = status == "failed" and runs[report.id] == 0 and "could not be started" in str(state.get("error"))
            if runs[report.id] != 1 and not refused:
                problems.append(f"report {report.id}: {runs[report.id]} upstream runs")
            want = 1 if (report.email and status == "completed") else 0
            got = emails[report.id]
            if report.email and status == "failed":
                want = got if got <= 1 else 1
            if got != want:
                problems.append(f"report {report.id}: {got} e-mails (asked: {bool(report.email)}, {status})")
            counts["e-mails sent"] += got
            counts["e-mails asked"] += 1 if report.email else 0
            reference = self.reference(f"/reports/{report.id}/events", ("completed", "failed"))
            if not reference:
                problems.append(f"report {report.id}: no complete event stream to compare with")
                continue
            if reference != list(range(reference[0], reference[0] + len(reference))):
                problems.append(f"report {report.id}: the stored stream has gaps: {reference[:5]}…")
            seen = [(t, i) for viewer in report.viewers for t, i in zip(viewer.arrivals, viewer.ids)]
            before = [(t, i) for t, i in seen if removal_at is not None and t < removal_at]
            if before:
                # The pause in this report's events across the host removal: from the last event before it to the
                # first newer one after it (replays after a reconnect do not count). Its run was taken over, or was
                # not on the removed host at all.
                newest = max(i for _, i in before)
                later = [t for t, i in seen if t >= removal_at and i > newest]
                if later:
                    takeover = max(takeover, min(later) - max(t for t, _ in before))
            for viewer in report.viewers:
                viewers += 1
                reconnects += viewer.reconnects
                events_checked += len(viewer.ids)
                l, d, r = check_sequence(viewer.ids, reference)
                if d or r:
                    problems.append(viewer.describe_repeats())
                if not viewer.finished:
                    problems.append(f"report {report.id}: a viewer never saw the end ({len(viewer.ids)} events)")
                lost, duplicated, reordered = lost + l, duplicated + d, reordered + r
        for batch in self.batches:
            viewer = batch.viewer
            viewers += 1
            reconnects += viewer.reconnects
            events_checked += len(viewer.ids)
            status, body = request(self.client, Stats(), "GET", f"/research/batch/{batch.id}")
            final = (body or {}).get("status")
            counts[f"batches {final}"] += 1
            if final != "completed":
                problems.append(f"batch {batch.id} ended {final}")
            reference = self.reference(f"/research/batch/{batch.id}/events", ("completed",))
            if not viewer.finished or not reference:
                problems.append(f"batch {batch.id}: stream not complete")
                continue
            l, d, r = check_sequence(viewer.ids, reference)
            if d or r:
                problems.append(viewer.describe_repeats())
            lost, duplicated, reordered = lost + l, duplicated + d, reordered + r
        # 5xx and unanswered requests: allowed only while a whole host was being removed (requests on it).
        window = (removal_at, removal_at + self.args.window) if removal_at is not None else None
        bad = [a for a in self.stats.answers if a.status >= 500 or a.status == 0]
        inside = [a for a in bad if window and window[0] <= a.at <= window[1]]
        # A request that was being answered by a worker at the moment it got kill -9 fails with a 502 from its
        # host's nginx (which cannot know whether a POST took effect, so it does not retry it elsewhere).
        on_killed = [a for a in bad if a not in inside and a.status == 502
                     and any(0 <= a.at - k <= 2.5 for k in self.kills)]
        # While PostgreSQL restarts, a request that needs it answers 503 with Retry-After (a statement caught
        # mid-flight, whose effect is unknown, may fail with 500): counted apart, only inside the restart window.
        on_restart = [a for a in bad if a not in inside and a not in on_killed and a.status in (500, 503)
                      and self.db_window[0] <= a.at <= self.db_window[1]]
        outside = [a for a in bad if a not in inside and a not in on_killed and a not in on_restart]
        front_failover = max((a.at - removal_at for a in inside), default=0.0) if window else 0.0
        for a in outside[:10]:
            problems.append(f"{a.status or 'no answer'} at {a.at:.1f}s: {a.what}")
        if len(outside) > 10:
            problems.append(f"… and {len(outside) - 10} more 5xx/unanswered requests outside the host-removal window")
        for failure in self.create_failures:
            in_window = window and window[0] <= failure.at <= window[1]
            on_killed_worker = failure.status == 502 and any(0 <= failure.at - k <= 2.5 for k in self.kills)
            on_db_restart = failure.status in (500, 503) and self.db_window[0] <= failure.at <= self.db_window[1]
            if not in_window and not on_killed_worker and not on_db_restart:
                problems.append(f"create failed at {failure.at:.1f}s ({failure.status}): {failure.what}")
        if lost or duplicated or reordered:
            problems.append(f"events: {lost} lost, {duplicated} duplicated, {reordered} reordered")
        slowest = max(self.takeovers.values(), default=0.0)
        if removal_at is not None and not self.takeovers:
            problems.append("no run was leased on the removed host: its takeover was not measured")
        if slowest > 30:
            late = sum(1 for t in self.takeovers.values() if t > 30)
            problems.append(f"{late} runs of the removed host were leased again only after {slowest:.1f}s (target 30 s)")
        if any("FAILED" in k for k in self.faults):
            problems.append("a fault could not be injected")

        rows = [
            ("duration (s)", f"{self.args.duration:.0f} + drain"),
            ("application hosts × workers", f"{len(self.cluster.app_hosts)} × {self.cluster.workers}"),
            ("reports created", len(self.reports)),
            *((k, v) for k, v in sorted(counts.items()) if k.startswith(("reports ", "  failed: "))),
            ("batches created", len(self.batches)),
            *((k, v) for k, v in sorted(counts.items()) if k.startswith("batches ")),
            ("creates refused/failed", len(self.create_failures)),
            ("upstream runs (reports)", sum(runs[r.id] for r in self.reports)),
            ("e-mails asked / sent", f"{counts['e-mails asked']} / {counts['e-mails sent']}"),
            ("viewers", viewers),
            ("reconnects (Last-Event-ID)", reconnects),
            ("events checked", events_checked),
            ("events lost / duplicated / reordered", f"{lost} / {duplicated} / {reordered}"),
            ("requests", len(self.stats.answers)),
            ("5xx or no answer: in host-removal window", len(inside)),
            *((f"  {what}: {status or 'no answer'}", n) for (what, status), n in sorted(Counter((a.what, a.status) for a in inside).items())),
            ("502 for a request on a worker being killed", len(on_killed)),
            ("503/500 while PostgreSQL restarted", len(on_restart)),
            ("5xx or no answer: elsewhere", len(outside)),
            *((f"fault: {k}", v) for k, v in sorted(self.faults.items())),
            ("PostgreSQL outage (s)", f"{self.db_outage:.1f}"),
            ("front failover (last error after removal, s)", f"{front_failover:.1f}"),
            ("runs leased on the removed host", len(self.takeovers)),
            ("  taken over by a live host after (max s)", f"{slowest:.1f}"),
            ("longest event pause across the host removal (s)", f"{takeover:.1f}"),
        ]
        width = max(len(str(k)) for k, _ in rows)
        print("\n" + "=" * (width + 16))
        print(f"{'soak':<{width}}  result")
        print("-" * (width + 16))
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
        print("=" * (width + 16))
        if problems:
            print(f"soak: FAILED ({len(problems)} problems)")
            for p in problems[:40]:
                print("  - " + p)
            return 1
        print("soak: passed (nothing lost, duplicated or reordered)")
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=float(os.environ.get("SOAK_DURATION", 600)))
    parser.add_argument("--app-hosts", type=int, default=int(os.environ.get("SOAK_APP_HOSTS", 3)))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SOAK_WORKERS", 2)))
    parser.add_argument("--report-every", type=float, default=float(os.environ.get("SOAK_REPORT_EVERY", 2)))
    parser.add_argument("--batch-every", type=float, default=float(os.environ.get("SOAK_BATCH_EVERY", 15)))
    parser.add_argument("--viewers", type=int, default=int(os.environ.get("SOAK_VIEWERS", 4)),
                        help="live viewers per report")
    parser.add_argument("--email-share", type=float, default=0.7)
    parser.add_argument("--kill-every", type=float, default=10)
    parser.add_argument("--host-down", type=float, default=None, help="seconds a removed host stays away")
    parser.add_argument("--window", type=float, default=15,
                        help="seconds after a host's removal in which requests that were on it may fail")
    parser.add_argument("--drain", type=float, default=120)
    parser.add_argument("--time-scale", type=float, default=float(os.environ.get("SOAK_TIME_SCALE", 0.05)))
    parser.add_argument("--lease-seconds", type=float, default=5)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    if args.host_down is None:
        args.host_down = min(60.0, args.duration * 0.2)
    if os.geteuid() != 0:
        print("soak: needs root (network namespaces)", file=sys.stderr)
        return 2
    bin_dir = Path(os.environ.get("SOAK_BIN_DIR", ROOT / ".build" / "debug"))
    marketlens = os.environ.get("MARKETLENS_BIN", str(bin_dir / "marketlens"))
    sim = os.environ.get("UPSTREAM_SIM_BIN", str(bin_dir / "upstream-sim"))
    cluster = Cluster(args.app_hosts, args.workers, marketlens, sim, args.time_scale, args.lease_seconds, log=log)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        cluster.up()
        cluster.enter("client")  # the browsers live on their own host
        return Soak(args, cluster).run()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except Exception as error:
        log(f"soak could not run: {error}")
        return 1
    finally:
        log("tearing the cluster down")
        cluster.teardown()


if __name__ == "__main__":
    sys.exit(main())
