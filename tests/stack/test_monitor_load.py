"""The monitoring engine under load, through the real stack: 300 concurrent report runs are followed by the workers'
monitoring threads (one libcurl multi handle each, storing through a fixed set of database lanes), the worker that
follows most of them is killed with SIGKILL mid-run, and every run still completes exactly once: one upstream run,
one `completed` event and one e-mail each, with the workers' threads and PostgreSQL connections flat."""
from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from .helpers import alive, curl, wait_for, worker_pids
from .report_flow_helpers import mail_key, psql, sim_get, sim_url, word

pytestmark = pytest.mark.usefixtures("stack")

RUNS = 300
# Simulated seconds a run lasts: at the test stack's time scale (0.02) about 30 s, long enough to see all of them
# followed at once and to kill a worker while they still are, on a debug build and a busy machine.
SIM_DURATION = 1500
# Simulated seconds between a run's progress messages: about one a second each (a real run sends one every few
# seconds; at the default density, 2-6 simulated seconds, 300 runs compressed 50 times would send about 4,000 a
# second, the rate of 15,000 real runs, which is not what this test is about; bench/monitor.sh measures rates).
SIM_EVENT_INTERVAL = 50


def create_upstream_run(public_id: str) -> str:
    body = json.dumps({"input": f"Industry: monitor load {public_id}", "processor": "ultra", "enable_events": True,
                       "metadata": {"report_id": public_id, "sim_duration": SIM_DURATION,
                                    "sim_event_every": SIM_EVENT_INTERVAL}})
    reply = curl(sim_url("/v1/tasks/runs"), "-X", "POST", "-H", "x-api-key: sim-parallel-key",
                 "-H", "Content-Type: application/json", "--data-binary", body)
    assert reply.status in (200, 201, 202), reply.text[:200]
    return json.loads(reply.body)["run_id"]


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def database_connections() -> int:
    return int(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"))


def leases_by_pid(prefix: str) -> Counter:
    owners = psql("SELECT coalesce(lease_owner, '') FROM reports WHERE public_id LIKE :'p' AND status = 'running';",
                  p=prefix + "%").splitlines()
    return Counter(int(owner.split(":")[-2]) for owner in owners if owner)


def test_300_concurrent_runs_survive_kill_9_of_their_worker_and_complete_once():
    prefix = f"rpt_load{word(5)}"
    ids = [f"{prefix}{n:03d}" for n in range(RUNS)]
    before_threads = {pid: threads_of(pid) for pid in worker_pids()}
    before_connections = database_connections()

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        runs = list(pool.map(create_upstream_run, ids))
    values = ",\n".join(
        f"('{public_id}', '{run_id}', 'Monitor load {n}', 'Monitor load {n}', '', 'ultra', "
        f"'load.{public_id}@example.com', 'queued', 'unlisted')"
        for n, (public_id, run_id) in enumerate(zip(ids, runs)))
    psql("INSERT INTO reports (public_id, task_run_id, title, industry, region, processor, email, status, visibility) "
         f"VALUES {values};")

    def running() -> int:
        return int(psql("SELECT count(*) FROM reports WHERE public_id LIKE :'p' AND status = 'running' "
                        "AND lease_owner IS NOT NULL;", p=prefix + "%"))

    assert wait_for(lambda: running() == RUNS, 30, 0.25), \
        f"only {running()} of {RUNS} runs are followed; sessions:\n" + psql(
            "SELECT pid, state, wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();")
    time.sleep(1)
    during_threads = {pid: threads_of(pid) for pid in worker_pids() if pid in before_threads}
    during_connections = database_connections()
    for pid, count in during_threads.items():
        assert count <= before_threads[pid] + 2, f"worker {pid}: {before_threads[pid]} threads before, {count} with {RUNS} runs"
    assert during_connections <= before_connections + 2, \
        f"{before_connections} PostgreSQL connections before, {during_connections} with {RUNS} runs followed"

    leases = leases_by_pid(prefix)
    victim, held = leases.most_common(1)[0]
    assert victim in worker_pids() and held > 0, leases
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: not alive(victim), 5)

    def finished() -> int:
        return int(psql("SELECT count(*) FROM reports WHERE public_id LIKE :'p' AND status IN ('completed', 'failed', "
                        "'cancelled');", p=prefix + "%"))

    assert wait_for(lambda: finished() == RUNS, 120, 0.5), f"{finished()} of {RUNS} runs finished"
    statuses = psql("SELECT status, count(*) FROM reports WHERE public_id LIKE :'p' GROUP BY status;", p=prefix + "%")
    assert statuses == f"completed|{RUNS}", statuses
    completed_events = psql(
        "SELECT count(*) FILTER (WHERE n = 1) || ' ' || count(*) FROM (SELECT r.id, count(e.*) AS n FROM reports r "
        "LEFT JOIN report_events e ON e.report_id = r.id AND e.type = 'completed' WHERE r.public_id LIKE :'p' "
        "GROUP BY r.id) t;", p=prefix + "%")
    assert completed_events == f"{RUNS} {RUNS}", f"reports with exactly one completed event / all: {completed_events}"

    print("event store latency (upstream timestamp to row), ms: " + psql(
        "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)) || ' p50, ' || "
        "round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)) || ' p99, ' || count(*) || ' events' FROM ("
        "SELECT 1000 * extract(epoch FROM e.created_at - (e.payload->>'timestamp')::timestamptz) AS l "
        "FROM report_events e JOIN reports r ON r.id = e.report_id WHERE r.public_id LIKE :'p' "
        "AND e.type = 'message' AND e.payload->>'timestamp' IS NOT NULL) t;", p=prefix + "%"))

    creates = Counter()
    for request in sim_get("/__sim/requests?api=parallel&path=/v1")["requests"]:
        if request["method"] == "POST" and request["path"].rstrip("/") in ("/v1/tasks/runs", "/v1beta/tasks/runs") \
                and isinstance(request.get("body"), dict):
            report = (request["body"].get("metadata") or {}).get("report_id", "")
            if report.startswith(prefix):
                creates[report] += 1
    assert set(creates.values()) == {1} and len(creates) == RUNS, "every report has exactly one upstream run"

    def emails() -> Counter:
        outbox = sim_get("/__sim/outbox")
        entries = outbox.get("emails", outbox) if isinstance(outbox, dict) else outbox
        return Counter(mail_key(entry) for entry in entries if mail_key(entry).startswith(f"report-ready/{prefix}"))

    outbox = psql("SELECT count(DISTINCT o.report_id) || ' ' || count(*) FROM email_outbox o JOIN reports r "
                  "ON r.id = o.report_id WHERE r.public_id LIKE :'p';", p=prefix + "%")
    assert outbox == f"{RUNS} {RUNS}", f"reports with an e-mail queued / e-mails queued: {outbox}"
    # The outboxes send in batches of up to 100 (Resend allows 5 requests a second). Wait for every one here, so
    # that the outbox is empty again before the next test relies on its own e-mails.
    assert wait_for(lambda: len(emails()) == RUNS, 240, 1), f"{len(emails())} of {RUNS} e-mails sent"
    time.sleep(2)  # a duplicate would follow within the monitors' next passes
    sent = emails()
    assert len(sent) == RUNS and set(sent.values()) == {1}, Counter(sent.values())
