#!/usr/bin/env python3
"""Stream-load benchmark (issue 11): N batch viewers + N console relay viewers + N report viewers held open
through nginx while wrk measures `/` and `/library`; the same wrk runs without them first. Prints one table with
throughput and p99 side by side, the open streams, worker threads and PostgreSQL connections at each step.

Each viewer is one TLS connection (HTTP/1.1) on one asyncio loop that keeps reading (and discarding) what it
receives, so held streams are live streams, not stalled sockets."""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import ssl
import subprocess
import urllib.parse
import urllib.request


def psql(database_url: str, sql: str) -> str:
    out = subprocess.run(["psql", database_url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""


def worker_threads(pids: list[int]) -> list[int]:
    counts = []
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            counts.append(int(next(line.split()[1] for line in status if line.startswith("Threads:"))))
    return counts


def connections(database_url: str) -> int:
    return int(psql(database_url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()"))


async def wrk(url: str, seconds: int, connections: int = 32) -> tuple[float, float]:
    """(requests per second, p99 ms) of wrk -t2 -c<connections> against url."""
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    text = (await process.communicate())[0].decode()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    match = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    value, unit = float(match.group(1)), match.group(2)
    p99 = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return rate, p99


class Held:
    def __init__(self) -> None:
        self.open = 0
        self.failed = 0
        self.refused = 0
        self.ended = 0
        self.tasks: list[asyncio.Task] = []

    async def viewer(self, host: str, port: int, path: str, headers: dict[str, str], ready: asyncio.Event,
                     context: ssl.SSLContext) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=context)
            lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            if not head.startswith(b"HTTP/1.1 200"):
                self.failed += 1
                return
            first = await asyncio.wait_for(reader.read(65536), 60)
            if b"retry: 5000" in first and b"event:" not in first:
                self.refused += 1
                return
            self.open += 1
            ready.set()
            while await reader.read(65536):
                pass
            self.open -= 1
            self.ended += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            self.failed += 1
        except asyncio.CancelledError:
            return


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--sim-url", required=True)
    parser.add_argument("--worker-pids", type=int, nargs="+", required=True)
    parser.add_argument("--viewers", type=int, default=1000, help="of each kind")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    base = urllib.parse.urlsplit(args.url)
    origin = f"{base.scheme}://{base.netloc}"
    db = args.database_url

    # What the viewers watch: a running report and a running batch nobody's monitor owns (they stay open), and
    # a long console run on the simulator.
    report_public = "rpt_bench" + secrets.token_hex(6)
    psql(db, "INSERT INTO reports (public_id, title, industry, processor, status) VALUES "
             f"('{report_public}', 'Bench', 'Bench', 'ultra2x', 'running') RETURNING id")
    batch_public = "bat_bench" + secrets.token_hex(6)
    psql(db, "INSERT INTO batches (public_id, research_goal, search_depth, processor, max_parallel, "
             f"confidence_threshold, domain_count, status, lease_owner, lease_expires_at) VALUES ('{batch_public}', "
             "'Bench', 'quick', 'lite', 5, 0.7, 0, 'running', 'bench', now() + interval '1 hour') RETURNING id")
    request = urllib.request.Request(
        args.sim_url.rstrip("/") + "/v1/tasks/runs", method="POST",
        data=json.dumps({"input": "bench", "processor": "lite", "enable_events": True,
                         "metadata": {"sim_duration": 1_000_000}}).encode(),
        headers={"x-api-key": "sim-parallel-key", "Content-Type": "application/json"})
    run_id = json.loads(urllib.request.urlopen(request, timeout=10).read())["run_id"]
    console = {"X-Requested-With": "marketlens-console", "Origin": origin, "Sec-Fetch-Site": "same-origin",
               "X-Parallel-Key": "sim-parallel-key"}
    kinds = [
        ("batch", f"/research/batch/{batch_public}/events", {}),
        ("console", f"/console/api/v1/tasks/runs/{run_id}/events", console),
        ("report", f"/reports/{report_public}/events", {}),
    ]

    rows = []

    def state() -> str:
        return f"threads {'/'.join(map(str, worker_threads(args.worker_pids)))}, PG connections {connections(db)}"

    # Every request thread opens its database connection on first use: let all of them do it before the idle
    # figures, on a route no cache answers, so the connection count compares like with like.
    await wrk(origin + f"/research/batch/{batch_public}", 3, connections=80)
    idle = {path: await wrk(origin + path, args.seconds) for path in ("/", "/library")}
    rows.append(("idle", 0, idle, state()))

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    held = Held()
    ready = asyncio.Event()
    semaphore = asyncio.Semaphore(64)

    async def open_one(path: str, headers: dict[str, str]) -> None:
        async with semaphore:
            task = asyncio.ensure_future(held.viewer(base.hostname, base.port, path, headers, ready, context))
            held.tasks.append(task)
            await asyncio.sleep(0.005)

    for _, path, headers in kinds:
        await asyncio.gather(*(open_one(path, headers) for _ in range(args.viewers)))
    for _ in range(120):
        if held.open + held.failed + held.refused >= 3 * args.viewers:
            break
        await asyncio.sleep(1)
    loaded = {path: await wrk(origin + path, args.seconds) for path in ("/", "/library")}
    rows.append((f"{args.viewers} batch + {args.viewers} console + {args.viewers} report", held.open, loaded,
                 state()))

    print(f"{'step':<44} {'open':>6} {'/ req/s':>9} {'/ p99 ms':>9} {'/library req/s':>15} "
          f"{'/library p99 ms':>16}  workers")
    for step, open_count, result, note in rows:
        print(f"{step:<44} {open_count:>6} {result['/'][0]:>9.0f} {result['/'][1]:>9.1f} "
              f"{result['/library'][0]:>15.0f} {result['/library'][1]:>16.1f}  {note}")
    ratio = [loaded[p][0] / idle[p][0] for p in ("/", "/library")]
    p99x = [loaded[p][1] / idle[p][1] for p in ("/", "/library")]
    print(f"throughput kept: / {ratio[0]:.0%}, /library {ratio[1]:.0%}; p99 loaded/idle: / {p99x[0]:.2f}x, "
          f"/library {p99x[1]:.2f}x; viewers failed {held.failed}, refused {held.refused}, ended early {held.ended}")
    for task in held.tasks:
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
