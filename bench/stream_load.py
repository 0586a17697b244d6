#!/usr/bin/env python3
"""Stream-load benchmark (issue 11): N batch viewers + N console relay viewers + N report viewers held open
through nginx while wrk measures `/` and `/library`; the same wrk runs without them first. Prints one table with
throughput and p99 side by side, the open streams, worker threads and PostgreSQL connections at each step.

Each viewer is one TLS connection (HTTP/1.1) on one asyncio loop that keeps reading (and discarding) what it
receives, so held streams are live streams, not stalled sockets.

The viewers stand for browsers on other machines and upstream-sim for Parallel's servers, yet here they share
the two cores with the stack and wrk: decrypting 3,000 TLS streams in this client and serving the console runs'
upstream streams took 0.24 of the 2 cores (6 December), which the pages lost with the viewers, not to them.
So while wrk measures the pages, only the sampled viewers (whose events are checked) read as things arrive; the
others leave what the server sends them in their sockets' receive buffers (a few kB each per window) and read it
all when the window closes. The server's work is the same either way: every event is still written to every
viewer. This client and the simulator also run at nice 19 (`--sim-pid`); their CPU is printed apart."""
from __future__ import annotations

import argparse
import collections
import asyncio
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.stack.helpers import database_connections_of  # noqa: E402  (the stack tests count them the same way)


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


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(path: str) -> int:
    """utime + stime of a process or thread stat file (0 once it is gone)."""
    try:
        with open(path) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of every CPU of the machine."""
    with open("/proc/stat") as stat:
        values = list(map(int, stat.readline().split()[1:]))
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CPU:
    """Where the CPU went while a phase ran: the workers' threads by name, nginx, PostgreSQL, wrk, this client,
    and everything else on the (shared) machine."""

    def __init__(self, workers: list[int], nginx: int | None, postgres: int | None, sim: int | None = None) -> None:
        self.workers, self.nginx, self.postgres, self.sim = workers, nginx, postgres, sim

    def snapshot(self) -> dict[str, int]:
        groups: dict[str, int] = {}
        for pid in self.workers:
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{tid}/comm") as comm:
                        name = comm.read().strip()
                except OSError:
                    continue
                name = "request threads" if name.startswith("request-") else name
                groups[name] = groups.get(name, 0) + cpu_ticks(f"/proc/{pid}/task/{tid}/stat")
        for label, parent in (("nginx", self.nginx), ("postgres", self.postgres)):
            if parent:
                groups[label] = sum(cpu_ticks(f"/proc/{pid}/stat") for pid in [parent, *children(parent)])
        if self.sim:
            groups["upstream-sim"] = cpu_ticks(f"/proc/{self.sim}/stat")
        groups["bench client"] = cpu_ticks("/proc/self/stat")
        finished = os.times()  # wrk and psql have exited by the end of a phase: their CPU is the children's
        groups["wrk and psql"] = int((finished.children_user + finished.children_system) * TICKS)
        groups["machine busy"], groups["machine total"] = machine_ticks()
        return groups

    @staticmethod
    def report(before: dict[str, int], after: dict[str, int], seconds: float) -> str:
        delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
        cores = delta.pop("machine total") / TICKS / seconds
        busy = delta.pop("machine busy")
        ours = sum(delta.values())
        delta["everything else on the machine"] = busy - ours
        top = sorted(((v, k) for k, v in delta.items() if v > 0), reverse=True)[:8]
        return (f"CPU over {seconds:.0f} s ({cores:.1f} cores, {busy / TICKS / seconds:.2f} busy): "
                + ", ".join(f"{name} {ticks / TICKS / seconds:.2f}" for ticks, name in top))


def connections(database_url: str) -> int:
    return int(psql(database_url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()"))


async def wrk(url: str, seconds: int, connections: int = 32) -> tuple[float, float]:
    """(requests per second, p99 ms) of wrk -t2 -c<connections> against url."""
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=usual_priority)
    text = (await process.communicate())[0].decode()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    match = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    value, unit = float(match.group(1)), match.group(2)
    p99 = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return rate, p99


def usual_priority() -> None:
    """wrk measures like the stack serves: at nice 0, not at this client's 19 (lowering it needs root)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:
        pass


def yield_cpu(pid: int | None) -> None:
    """Nice 19 for every thread of `pid` (threads it starts later inherit it from theirs); this process if None."""
    for tid in os.listdir(f"/proc/{pid}/task") if pid else [0]:
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), 19)
        except OSError:
            pass


def parse_block(block: bytes) -> tuple[str, str, str]:
    """(id, event name, data) of one SSE block."""
    event_id = name = data = ""
    for line in block.split(b"\n"):
        line = line.strip(b"\r")
        if line.startswith(b"id:"):
            event_id = line[3:].strip().decode(errors="replace")
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode(errors="replace")
        elif line.startswith(b"data:"):
            data += line[5:].strip().decode(errors="replace")
    return event_id, name, data


class Dechunker:
    """Undoes HTTP/1.1 chunked framing incrementally, so event text split across chunks reads whole."""

    def __init__(self) -> None:
        self.raw = b""
        self.left = 0

    def feed(self, data: bytes) -> bytes:
        self.raw += data
        out = b""
        while True:
            if self.left:
                piece = self.raw[:self.left]
                out += piece
                self.raw = self.raw[len(piece):]
                self.left -= len(piece)
                if self.left:
                    return out
                continue
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return out
            if not line:  # the CRLF after a chunk's data
                self.raw = rest
                continue
            self.left = int(line.split(b";")[0], 16)
            self.raw = rest
            if self.left == 0:
                return out


CONTROL = {"", "connected", "heartbeat", "disconnected", "error", "retry"}


def check_sequence(records: list[tuple[str, str, str]], expected: int) -> str | None:
    """None when a viewer saw event ids 1..expected exactly once each, in order; else what went wrong."""
    ids = [int(i) for i, name, _ in records if name not in CONTROL and i.isdigit()]
    if ids == list(range(1, expected + 1)):
        return None
    seen = set(ids)
    return (f"{len(ids)} events, {len(ids) - len(seen)} duplicated, {expected - len(seen & set(range(1, expected + 1)))} "
            f"lost, {'in order' if ids == sorted(ids) else 'reordered'}")


class Held:
    def __init__(self) -> None:
        self.open = 0
        self.failed = 0
        self.refused = 0
        self.ended = 0
        self.reasons: collections.Counter = collections.Counter()
        self.tasks: list[asyncio.Task] = []
        # The connections of the viewers that are not sampled: paused while wrk measures (`quiet`).
        self.unsampled: list[asyncio.Transport] = []

    def quiet(self, paused: bool) -> None:
        """Pauses (or resumes) reading on the unsampled viewers' connections: asyncio reads and decrypts whatever
        arrives unless its transport is paused, whether or not anyone awaits the reader."""
        for transport in self.unsampled:
            if not transport.is_closing():
                transport.pause_reading() if paused else transport.resume_reading()

    async def viewer(self, host: str, port: int, path: str, headers: dict[str, str], ready: asyncio.Event,
                     context: ssl.SSLContext, record: list[tuple[str, str, str]] | None = None) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=context)
            lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            if not head.startswith(b"HTTP/1.1 200"):
                self.failed += 1
                self.reasons[head.split(b"\r\n", 1)[0].decode(errors="replace")] += 1
                return
            first = await asyncio.wait_for(reader.read(65536), 60)
            if b"retry: 5000" in first and b"event:" not in first:
                self.refused += 1
                return
            self.open += 1
            if record is None:
                self.unsampled.append(writer.transport)
            ready.set()
            dechunk = Dechunker() if b"chunked" in head.lower() else None
            buffer = b""
            chunk = first
            while chunk:
                if record is not None:
                    buffer += dechunk.feed(chunk) if dechunk else chunk
                    *blocks, buffer = buffer.split(b"\n\n")
                    record.extend(parse_block(block) for block in blocks)
                chunk = await reader.read(65536)
            self.open -= 1
            self.ended += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError) as error:
            self.failed += 1
            self.reasons[type(error).__name__] += 1
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
    parser.add_argument("--sample", type=int, default=20, help="viewers of each kind whose events are checked")
    parser.add_argument("--events", type=int, default=40, help="events emitted to the report and the batch")
    parser.add_argument("--nginx-pid", type=int, help="nginx's master process (its workers are counted with it)")
    parser.add_argument("--postgres-pid", type=int, help="the postmaster (its backends are counted with it)")
    parser.add_argument("--sim-pid", type=int, help="upstream-sim: run at nice 19 and counted apart")
    args = parser.parse_args()
    yield_cpu(None)
    yield_cpu(args.sim_pid)
    base = urllib.parse.urlsplit(args.url)
    origin = f"{base.scheme}://{base.netloc}"
    db = args.database_url

    # What the viewers watch: a running report and a running batch nobody's monitor owns (they stay open), and
    # a console run on the simulator lasting hours (its whole timeline is drawn when it is created: keep it short).
    report_public = "rpt_bench" + secrets.token_hex(6)
    report_id = psql(db, "INSERT INTO reports (public_id, title, industry, processor, status) VALUES "
             f"('{report_public}', 'Bench', 'Bench', 'ultra2x', 'running') RETURNING id")
    batch_public = "bat_bench" + secrets.token_hex(6)
    batch_id = psql(db, "INSERT INTO batches (public_id, research_goal, search_depth, processor, max_parallel, "
             f"confidence_threshold, domain_count, status, lease_owner, lease_expires_at) VALUES ('{batch_public}', "
             "'Bench', 'quick', 'lite', 5, 0.7, 0, 'running', 'bench', now() + interval '1 hour') RETURNING id")
    request = urllib.request.Request(
        args.sim_url.rstrip("/") + "/v1/tasks/runs", method="POST",
        data=json.dumps({"input": "bench", "processor": "lite", "enable_events": True,
                         "metadata": {"sim_duration": 20_000}}).encode(),
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
    steps = []

    def state() -> str:
        per_worker = [database_connections_of(pid) for pid in args.worker_pids]
        return (f"threads {'/'.join(map(str, worker_threads(args.worker_pids)))}, PG connections "
                f"{'/'.join(map(str, per_worker))} (all {connections(db)})")

    # The request threads' pool opens its connections on demand: let it fill before the idle figures, on a
    # route no cache answers, so the connection count compares like with like.
    await wrk(origin + f"/research/batch/{batch_public}", 3, connections=80)
    # And the measured pages once, so the idle figures do not include the first fill of nginx's page cache: the
    # requests that arrive while a missing page is computed wait on nginx's cache lock, which it checks every
    # 500 ms, and those waits alone made the idle p99 120-380 ms where the steady one is under 10.
    for path in ("/", "/library"):
        await wrk(origin + path, 2)
    cpu = CPU(args.worker_pids, args.nginx_pid, args.postgres_pid, args.sim_pid)
    cpu_lines = []

    async def measured(label: str) -> dict[str, tuple[float, float]]:
        before, started = cpu.snapshot(), time.monotonic()
        result = {path: await wrk(origin + path, args.seconds) for path in ("/", "/library")}
        cpu_lines.append(f"{label}: " + CPU.report(before, cpu.snapshot(), time.monotonic() - started))
        return result

    idle = await measured("idle")
    rows.append(("idle", 0, idle, state()))

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    held = Held()
    ready = asyncio.Event()
    semaphore = asyncio.Semaphore(64)
    samples: dict[str, list[list[tuple[str, str, str]]]] = {kind: [] for kind, _, _ in kinds}

    async def open_one(kind: str, path: str, headers: dict[str, str], index: int) -> None:
        record = None
        if index % max(1, args.viewers // args.sample) == 0 and len(samples[kind]) < args.sample:
            record = []
            samples[kind].append(record)
        async with semaphore:
            task = asyncio.ensure_future(held.viewer(base.hostname, base.port, path, headers, ready, context, record))
            held.tasks.append(task)
            await asyncio.sleep(0.005)

    opened = 0
    for kind, path, headers in kinds:
        await asyncio.gather(*(open_one(kind, path, headers, index) for index in range(args.viewers)))
        opened += args.viewers
        for _ in range(120):
            if held.open + held.failed + held.refused >= opened:
                break
            await asyncio.sleep(1)
        steps.append((f"+ {args.viewers} {kind} viewers", held.open, state()))

    async def emit() -> None:
        """Events while the pages are measured: one to the report and one to the batch every interval."""
        for _ in range(args.events):
            await asyncio.to_thread(
                psql, db, f"SELECT append_report_event({report_id}, 'message', '{{\"text\": \"bench\"}}'::jsonb), "
                          f"append_batch_event({batch_id}, 'progress', '{{\"type\": \"progress\"}}'::jsonb)")
            await asyncio.sleep(2 * args.seconds / args.events)

    emitting = asyncio.ensure_future(emit())
    held.quiet(True)
    loaded = await measured("with the viewers")
    held.quiet(False)
    rows.append((f"{args.viewers} batch + {args.viewers} console + {args.viewers} report", held.open, loaded,
                 state()))
    await emitting
    await asyncio.sleep(3)

    print(f"{'step':<44} {'open':>6} {'/ req/s':>9} {'/ p99 ms':>9} {'/library req/s':>15} "
          f"{'/library p99 ms':>16}  workers")
    for step, open_count, result, note in rows[:1]:
        print(f"{step:<44} {open_count:>6} {result['/'][0]:>9.0f} {result['/'][1]:>9.1f} "
              f"{result['/library'][0]:>15.0f} {result['/library'][1]:>16.1f}  {note}")
    for step, open_count, note in steps:
        print(f"{step:<44} {open_count:>6} {'':>9} {'':>9} {'':>15} {'':>16}  {note}")
    for step, open_count, result, note in rows[1:]:
        print(f"{step:<44} {open_count:>6} {result['/'][0]:>9.0f} {result['/'][1]:>9.1f} "
              f"{result['/library'][0]:>15.0f} {result['/library'][1]:>16.1f}  {note}")
    ratio = [loaded[p][0] / idle[p][0] for p in ("/", "/library")]
    p99x = [loaded[p][1] / idle[p][1] for p in ("/", "/library")]
    print(f"throughput kept: / {ratio[0]:.0%}, /library {ratio[1]:.0%}; p99 loaded/idle: / {p99x[0]:.2f}x, "
          f"/library {p99x[1]:.2f}x; viewers failed {held.failed}, refused {held.refused}, ended early {held.ended}")
    for line in cpu_lines:
        print(line)
    problems = []
    for kind in ("batch", "report"):
        for index, record in enumerate(samples[kind]):
            problem = check_sequence(record, args.events)
            if problem:
                problems.append(f"{kind} viewer {index}: {problem}")
    # Console relays: each viewer has its own upstream stream of the same run (no ids); upstream replays every
    # progress message from the run's start (its state and latest stats are snapshots of the moment), so each
    # viewer's progress messages must be a prefix of the longest (a lost, repeated or reordered one breaks that).
    console = [[data for _, name, data in record if "task_run.progress_msg" in data] for record in samples["console"]]
    longest = max(console, key=len, default=[])
    for index, events in enumerate(console):
        if events != longest[:len(events)]:
            problems.append(f"console viewer {index}: its progress messages differ from the other viewers'")
    print(f"events checked: {args.events} report + {args.events} batch events in {len(samples['report'])} + "
          f"{len(samples['batch'])} sampled viewers, {sum(map(len, console))} console progress messages in "
          f"{len(console)}: " + ("0 lost, duplicated or reordered" if not problems else "; ".join(problems[:5])))
    if held.reasons:
        print("viewers that failed: " + ", ".join(f"{reason} {count}" for reason, count in held.reasons.most_common(5)))
    for task in held.tasks:
        task.cancel()
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
