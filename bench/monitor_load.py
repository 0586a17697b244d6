"""Monitoring capacity (issue 11), driven by bench/monitor.sh: for each step, N report runs are created on
upstream-sim (at once, or evenly over a ramp of seconds) and their reports inserted `queued` (as tests/stack/test_monitor_load.py does: the public form's
rate limits are not what is measured), then the workers' monitors follow all of them until every one is finished.
One table row per step:

- runs followed: the most leased at once (per worker), sampled every second;
- threads, PostgreSQL connections: the most per worker seen meanwhile (/proc; connections are the worker's TCP
  sockets to PostgreSQL, request threads' pool included);
- CPU per stored event: the workers' user+system CPU during the step over the events stored for the step's reports;
  the same for the PostgreSQL server (postmaster, its live children, and the children it reaped meanwhile), which
  was the ceiling at 3,000 runs;
- store latency: upstream emit (the simulator stamps each progress message with the moment it is due and sends it
  then) to the commit of its row (pg_xact_commit_timestamp, the bench's cluster tracks commit times), for messages
  emitted after the run's first event was stored (the replay at connect measures the claim delay, not the store);
- once: reports completed / reports with exactly one `completed` event / reports with exactly one upstream run.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.stream_load import TICKS, cpu_ticks, worker_threads  # noqa: E402
from tests.stack.helpers import database_connections_of  # noqa: E402  (the stack tests count them the same way)

SIM_KEY = "sim-parallel-key"


def psql(database_url: str, sql: str) -> str:
    out = subprocess.run(["psql", database_url, "-qAtX", "-v", "ON_ERROR_STOP=1"], input=sql,
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def sim_request(sim_url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(sim_url + path, data=data, method="POST" if body is not None else "GET",
                                     headers={"x-api-key": SIM_KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def create_runs(sim_url: str, ids: list[str], duration: float, interval: float) -> list[str]:
    def create(public_id: str) -> str:
        body = {"input": f"Industry: monitor bench {public_id}", "processor": "ultra", "enable_events": True,
                "metadata": {"report_id": public_id, "sim_duration": duration, "sim_event_every": interval}}
        return sim_request(sim_url, "/v1/tasks/runs", body)["run_id"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(create, ids))


def count_creates(sim_url: str, since: int, prefix: str) -> Counter:
    """Upstream runs created for each report of the step, from the simulator's request log after `since`."""
    creates: Counter = Counter()
    for request in sim_request(sim_url, f"/__sim/requests?api=parallel&since={since}&path=/v1/tasks/runs")["requests"]:
        if request.get("method") == "POST" and isinstance(request.get("body"), dict):
            report = (request["body"].get("metadata") or {}).get("report_id", "")
            if report.startswith(prefix):
                creates[report] += 1
    return creates


def percentile_ms(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def postgres_ticks(postmaster: int) -> int:
    """CPU ticks of a PostgreSQL server: the postmaster with the children it reaped (cutime, cstime) and every live
    child (backends, background processes)."""
    try:
        with open(f"/proc/{postmaster}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except OSError:
        return 0
    return sum(int(f) for f in fields[11:15]) + sum(cpu_ticks(f"/proc/{child}/stat") for child in children)


def step(args: argparse.Namespace, runs: int, ramp: float) -> dict:
    db = args.database_url
    prefix = f"rpt_mb{secrets.token_hex(4)}n{runs}_"
    ids = [f"{prefix}{n:05d}" for n in range(runs)]
    like = f"'{prefix}%'"
    since = sim_request(args.sim_url, "/__sim/requests?path=/nothing")["last_seq"]
    cpu_before = sum(cpu_ticks(f"/proc/{pid}/stat") for pid in args.worker_pids)
    postgres_before = postgres_ticks(args.postgres_pid)
    started = time.monotonic()
    # Created in one-second slices over `ramp` seconds (all at once with 0), each slice's reports inserted `queued`
    # as soon as its runs exist, so the monitors see them arrive as the public form would hand them over.
    slices = max(1, int(ramp))
    creates: Counter = Counter()
    for index in range(slices):
        chunk = ids[index * runs // slices:(index + 1) * runs // slices]
        due = started + index * ramp / slices
        time.sleep(max(0.0, due - time.monotonic()))
        since = sim_request(args.sim_url, "/__sim/requests?path=/nothing")["last_seq"]
        run_ids = create_runs(args.sim_url, chunk, args.sim_duration, args.sim_event_interval)
        # The simulator keeps its last 10,000 requests: count the creates now, and at the end any made since.
        creates += count_creates(args.sim_url, since, prefix)
        values = ",\n".join(f"('{public_id}', '{run_id}', 'Monitor bench', 'Monitor bench', '', 'ultra', NULL, "
                            "'queued', 'unlisted')" for public_id, run_id in zip(chunk, run_ids))
        psql(db, "INSERT INTO reports (public_id, task_run_id, title, industry, region, processor, email, status, "
                 f"visibility) VALUES {values};")
    created = time.monotonic() - started
    since = sim_request(args.sim_url, "/__sim/requests?path=/nothing")["last_seq"]

    followed_max = 0
    followed_by: Counter = Counter()
    threads = [0] * len(args.worker_pids)
    connections = [0] * len(args.worker_pids)
    deadline = time.monotonic() + args.timeout
    finished = 0
    while time.monotonic() < deadline:
        rows = psql(db, f"SELECT coalesce(lease_owner, ''), status FROM reports WHERE public_id LIKE {like} "
                        "AND status IN ('queued', 'running');").splitlines()
        owners = Counter(row.split("|")[0].split(":")[-2] for row in rows if row.split("|")[0])
        if sum(owners.values()) > followed_max:
            followed_max, followed_by = sum(owners.values()), owners
        threads = [max(a, b) for a, b in zip(threads, worker_threads(args.worker_pids))]
        connections = [max(a, database_connections_of(pid)) for a, pid in zip(connections, args.worker_pids)]
        finished = runs - len(rows)
        if finished == runs:
            break
        time.sleep(1)
    elapsed = time.monotonic() - started
    cpu = (sum(cpu_ticks(f"/proc/{pid}/stat") for pid in args.worker_pids) - cpu_before) / TICKS
    postgres_cpu = (postgres_ticks(args.postgres_pid) - postgres_before) / TICKS

    events = int(psql(db, f"SELECT count(*) FROM report_events e JOIN reports r ON r.id = e.report_id "
                          f"WHERE r.public_id LIKE {like};"))
    # Emit time, latency (ms) and report of every measured message; MONITOR_DUMP=file keeps them for a closer look.
    measured = psql(db, f"""
        WITH ev AS (
            SELECT e.report_id, e.type, pg_xact_commit_timestamp(e.xmin) AS committed,
                   CASE WHEN e.type = 'message' THEN (e.payload->>'timestamp')::timestamptz END AS emitted
            FROM report_events e JOIN reports r ON r.id = e.report_id WHERE r.public_id LIKE {like}),
        first AS (SELECT report_id, min(committed) AS followed FROM ev GROUP BY report_id)
        SELECT extract(epoch FROM ev.emitted) || ' ' || round(1000 * extract(epoch FROM ev.committed - ev.emitted), 1)
               || ' ' || ev.report_id
        FROM ev JOIN first USING (report_id) WHERE ev.emitted > first.followed ORDER BY ev.emitted;""")
    if os.environ.get("MONITOR_DUMP"):
        Path(f"{os.environ['MONITOR_DUMP']}-{runs}-{ramp:.0f}s").write_text(measured)
    latencies = [float(line.split()[1]) for line in measured.splitlines() if line]
    once = psql(db, f"""
        SELECT count(*) FILTER (WHERE r.status = 'completed') || ' ' || count(*) FILTER (WHERE c.n = 1)
        FROM reports r LEFT JOIN LATERAL (SELECT count(*) AS n FROM report_events e
                                          WHERE e.report_id = r.id AND e.type = 'completed') c ON true
        WHERE r.public_id LIKE {like};""").split()
    creates += count_creates(args.sim_url, since, prefix)
    return {
        "runs": runs, "ramp": ramp, "created_s": created, "elapsed_s": elapsed, "finished": finished,
        "followed": followed_max, "followed_by": sorted(followed_by.values(), reverse=True),
        "threads": threads, "connections": connections, "events": events,
        "cpu_ms_per_event": 1000 * cpu / events if events else float("nan"), "cpu_s": cpu,
        "postgres_ms_per_event": 1000 * postgres_cpu / events if events else float("nan"), "postgres_s": postgres_cpu,
        "p50": percentile_ms(latencies, 0.5), "p99": percentile_ms(latencies, 0.99), "latency_n": len(latencies),
        "completed": int(once[0]), "one_completed_event": int(once[1]),
        "one_upstream_run": sum(1 for n in creates.values() if n == 1) if len(creates) == runs else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--sim-url", required=True)
    parser.add_argument("--worker-pids", type=int, nargs="+", required=True)
    parser.add_argument("--postgres-pid", type=int, required=True, help="the postmaster")
    parser.add_argument("--steps", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--sim-duration", type=float, default=900, help="simulated seconds a run lasts")
    parser.add_argument("--sim-event-interval", type=float, default=40,
                        help="simulated seconds between a run's progress messages (and at most as often, stats)")
    parser.add_argument("--ramps", type=float, nargs="+", default=[0],
                        help="real seconds over which a step's runs are created, evenly (0: all at once); each step "
                             "runs once per ramp")
    parser.add_argument("--timeout", type=float, default=600, help="real seconds a step may take")
    args = parser.parse_args()

    header = ("| runs | created over | followed (per worker) | threads/worker | PG conns/worker | events stored | "
              "worker CPU ms/event | PostgreSQL CPU ms/event | store p50 ms | store p99 ms | completed | 1 completed event | 1 upstream run | "
              "step s |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    failed = False
    for runs, ramp in [(runs, ramp) for runs in args.steps for ramp in args.ramps]:
        row = step(args, runs, ramp)
        print(f"| {row['runs']:,} | {row['ramp']:.0f} s | {row['followed']:,} ({' + '.join(str(n) for n in row['followed_by'])}) "
              f"| {' / '.join(map(str, row['threads']))} | {' / '.join(map(str, row['connections']))} "
              f"| {row['events']:,} | {row['cpu_ms_per_event']:.3f} ({row['cpu_s']:.1f} s) "
              f"| {row['postgres_ms_per_event']:.3f} ({row['postgres_s']:.1f} s) "
              f"| {row['p50']:.0f} | {row['p99']:.0f} (n={row['latency_n']:,}) | {row['completed']:,} "
              f"| {row['one_completed_event']:,} | {row['one_upstream_run']:,} | {row['elapsed_s']:.0f} "
              f"(create {row['created_s']:.0f}) |", flush=True)
        failed |= not (row["completed"] == row["one_completed_event"] == row["one_upstream_run"] == runs)
    if failed:
        print("NOT every run completed exactly once", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
