#!/usr/bin/env python3
"""Live-stream fan-out benchmark (product.md §14): N concurrent viewers of /reports/{id}/events through nginx.

Measures, per stage: viewers held, event delivery latency p50/p99/max from the moment the event is stored
(the payload carries clock_timestamp() of its insert), events lost or duplicated per viewer, and worker RSS
per open stream. Plus a reconnect storm: R viewers reconnecting with a Last-Event-ID within S seconds.

  live_fanout.py --url https://localhost:PORT --database-url URL --worker-pids PIDS... [--stages 100,1000,10000]

The 50 probe viewers (the latency columns) run in a process of their own (asyncio); the bulk viewers of the
fan-out stages in --procs processes on plain TLS sockets and epoll (cheaper than asyncio's Python TLS layer);
the reconnect storm uses asyncio in every process. Loopback source addresses 127.0.0.1..N are used in turn
(--sources) so ephemeral ports never run out.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import selectors
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse


# ---------------------------------------------------------------- client side (child processes)

class Stats:
    def __init__(self) -> None:
        self.connected = 0
        self.shed = 0
        self.errors = 0
        self.finished = 0
        self.lost = 0
        self.duplicated = 0
        self.out_of_order = 0
        self.latencies: list[float] = []
        self.durations: list[float] = []
        self.error_kinds: dict[str, int] = {}


class EventStream:
    """One viewer's response, without I/O: parses the head, de-chunks the body and splits SSE events as bytes
    arrive (one call per read, so that the client's own CPU disturbs the measurement as little as it can),
    and counts into `stats` what the viewer saw."""

    def __init__(self, stats: Stats, ready: list, last_id: int, expected_last: int) -> None:
        self.stats = stats
        self.ready = ready
        self.last_id = last_id
        self.expected_last = expected_last
        self.started = time.time()
        self.raw = bytearray()          # bytes not yet de-chunked
        self.body = bytearray()         # de-chunked SSE text not yet split into events
        self.status: int | None = None
        self.chunked = False
        self.got_connected = False
        self.ids: list[int] = []

    def feed(self, data: bytes, now: float) -> bool:
        """Takes bytes as read; true when the stream is over (terminal event, end of body, error status)."""
        self.raw += data
        if self.status is None:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = bytes(self.raw[:end]).decode("latin-1").split("\r\n")
            del self.raw[:end + 4]
            parts = head[0].split()
            self.status = int(parts[1]) if len(parts) > 1 else 0
            self.chunked = any(line.lower().replace(" ", "") == "transfer-encoding:chunked" for line in head[1:])
            if self.status != 200:
                return True
        ended = False
        if self.chunked:
            while True:
                line_end = self.raw.find(b"\r\n")
                if line_end < 0:
                    break
                size = int(bytes(self.raw[:line_end]).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    ended = True
                    break
                if len(self.raw) < line_end + 2 + size + 2:
                    break
                self.body += self.raw[line_end + 2:line_end + 2 + size]
                del self.raw[:line_end + 2 + size + 2]
        else:
            self.body += self.raw
            self.raw.clear()
        while True:
            end = self.body.find(b"\n\n")
            if end < 0:
                return ended
            block = bytes(self.body[:end])
            del self.body[:end + 2]
            if self.event(block, now):
                return True

    def event(self, block: bytes, now: float) -> bool:
        """Handles one event block; true when the stream has ended."""
        name, event_id, data = "message", None, None
        for line in block.split(b"\n"):
            if line.startswith(b"id: "):
                event_id = line[4:]
            elif line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: "):
                data = line[6:]
        if name == "connected":
            self.got_connected = True
            self.stats.connected += 1
            self.ready[0] += 1
        elif event_id is not None:
            self.ids.append(int(event_id))
            if name == "message" and data and b'"bench"' in data:
                self.stats.latencies.append(now - float(json.loads(data)["text"]))
            if name in ("completed", "failed"):
                self.stats.finished += 1
                self.stats.durations.append(now - self.started)
                return True
        return False

    def fail(self, error: BaseException) -> None:
        self.stats.errors += 1
        kind = type(error).__name__
        self.stats.error_kinds[kind] = self.stats.error_kinds.get(kind, 0) + 1

    def account(self) -> None:
        """After the stream: shed (never connected), an error status, or events lost, duplicated, reordered."""
        stats = self.stats
        if self.status is not None and self.status != 200:
            stats.errors += 1
            stats.error_kinds[f"HTTP {self.status}"] = stats.error_kinds.get(f"HTTP {self.status}", 0) + 1
            return
        if not self.got_connected:
            stats.shed += 1
            return
        seen = set(self.ids)
        stats.lost += len([i for i in range(self.last_id + 1, self.expected_last + 1) if i not in seen])
        stats.duplicated += len(self.ids) - len(seen)
        if self.ids != sorted(self.ids):
            stats.out_of_order += 1


def request_bytes(public_id: str, port: int, last_id: int) -> bytes:
    return (f"GET /reports/{public_id}/events HTTP/1.1\r\nHost: localhost:{port}\r\n"
            f"Accept: text/event-stream\r\nLast-Event-ID: {last_id}\r\n\r\n").encode()


class ViewerProtocol(asyncio.Protocol):
    """An `EventStream` over an asyncio connection (the probe viewers and the reconnect storm)."""

    def __init__(self, request: bytes, stream: EventStream) -> None:
        self.request = request
        self.stream = stream
        self.transport = None
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.stream.feed(data, time.time()):
            self.finish()

    def finish(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def viewer(host: str, port: int, context: ssl.SSLContext, source: str, public_id: str, last_id: int,
                 expected_last: int, stats: Stats, gate: asyncio.Semaphore, ready: list, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    stream = EventStream(stats, ready, last_id, expected_last)
    protocol = ViewerProtocol(request_bytes(public_id, port, last_id), stream)
    try:
        async with gate:
            await asyncio.wait_for(loop.create_connection(
                lambda: protocol, host, port, ssl=context, server_hostname="localhost", local_addr=(source, 0)), 30)
        timer = loop.call_at(loop.time() + max(0.0, deadline - time.time()), protocol.finish)
        await protocol.done
        timer.cancel()
    except (OSError, asyncio.TimeoutError, ValueError, ssl.SSLError) as error:
        stream.fail(error)
        protocol.finish()
        return
    stream.account()


def watch_bulk(conn, host: str, port: int, context: ssl.SSLContext, sources: list[str], plan, hold: float) -> Stats:
    """The bulk viewers of a fan-out stage on plain non-blocking TLS sockets and one epoll loop: the same parsing
    and accounting as the asyncio viewers at a fraction of their CPU (asyncio's TLS layer is Python code), so
    that on this 2-core machine the load generator takes less of the CPU the server needs."""
    stats, ready = Stats(), [0]
    selector = selectors.DefaultSelector()
    deadline = time.time() + hold
    for index, (public_id, last_id, expected_last) in enumerate(plan):
        stream = EventStream(stats, ready, last_id, expected_last)
        try:
            raw = socket.create_connection((host, port), timeout=30, source_address=(sources[index % len(sources)], 0))
            connection = context.wrap_socket(raw, server_hostname="localhost")
            connection.sendall(request_bytes(public_id, port, last_id))
            connection.setblocking(False)
        except (OSError, ssl.SSLError) as error:
            stream.fail(error)
            continue
        selector.register(connection, selectors.EVENT_READ, stream)
        if index % 100 == 0:
            conn.send(("ready", ready[0]))
    reported = 0.0
    while selector.get_map() and time.time() < deadline:
        for key, _ in selector.select(timeout=0.25):
            connection, stream = key.fileobj, key.data
            over = False
            while not over:
                try:
                    data = connection.recv(65536)
                except ssl.SSLWantReadError:
                    break
                except (OSError, ssl.SSLError):
                    data = b""
                over = not data or stream.feed(data, time.time())
                if not over and not connection.pending():
                    break
            if over:
                selector.unregister(connection)
                connection.close()
                stream.account()
        if time.time() - reported > 0.25:
            conn.send(("ready", ready[0]))
            reported = time.time()
    for key in list(selector.get_map().values()):
        key.fileobj.close()
        key.data.account()
    return stats


def child(conn, url: str, sources: list[str], niceness: int) -> None:
    """Runs viewers on command: ("watch", [(public_id, last_id, expected_last)...], hold_seconds, spread)."""
    if niceness:
        os.nice(niceness)
    parts = urllib.parse.urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    while True:
        command = conn.recv()
        if command[0] == "quit":
            return
        if command[0] == "bulk":
            _, plan, hold = command
            conn.send(("done", watch_bulk(conn, parts.hostname, parts.port, context, sources, plan, hold).__dict__))
            continue
        _, plan, hold, spread = command
        stats = Stats()
        ready = [0]

        async def run() -> None:
            gate = asyncio.Semaphore(256)
            deadline = time.time() + hold
            tasks = []
            for index, (public_id, last_id, expected_last) in enumerate(plan):
                if spread:
                    await asyncio.sleep(spread / max(1, len(plan)))
                tasks.append(asyncio.create_task(viewer(
                    parts.hostname, parts.port, context, sources[index % len(sources)], public_id, last_id,
                    expected_last, stats, gate, ready, deadline)))
            reporter = asyncio.create_task(report_ready())
            await asyncio.gather(*tasks)
            reporter.cancel()

        async def report_ready() -> None:
            while True:
                conn.send(("ready", ready[0]))
                await asyncio.sleep(0.25)

        asyncio.run(run())
        conn.send(("done", stats.__dict__))


# ---------------------------------------------------------------- driver

BULK_NICE = 0

class Database:
    """One psql session kept open; statements go through its stdin."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.proc = subprocess.Popen(["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True)

    def send(self, sql: str) -> None:
        assert self.proc.stdin
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def query(self, sql: str) -> str:
        return subprocess.run(["psql", self.url, "-qAtX", "-c", sql], check=True, capture_output=True,
                              text=True).stdout.strip()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(30)


def make_reports(db: Database, count: int, status: str = "running") -> list[tuple[int, str]]:
    tag = "%06x" % random.randrange(1 << 24)
    rows = db.query(
        "INSERT INTO reports (public_id, title, industry, processor, status) "
        f"SELECT 'rpt_bench{tag}_' || g, 'Bench Market Research Report', 'Bench', 'ultra2x', '{status}' "
        f"FROM generate_series(1, {count}) g RETURNING id, public_id")
    return [(int(line.split("|")[0]), line.split("|")[1]) for line in rows.splitlines()]


def bench_event(report_id: int) -> str:
    return (f"SELECT append_report_event({report_id}, 'message', jsonb_build_object('kind', 'bench', 'text', "
            f"extract(epoch FROM clock_timestamp())::text, 'timestamp', null));")


def complete_event(report_id: int) -> str:
    return (f"SELECT append_report_event({report_id}, 'completed', "
            "'{\"slug\":\"bench\",\"title\":\"Bench\",\"url\":\"/r/bench\"}'::jsonb);")


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_stage(pipes, plan, hold: float, spread: float = 0.0, wait_ready: bool = True, on_ready=None,
              ready_timeout: float = 120.0, probe_count: int = 50, epoll_bulk: bool = False):
    # pipes[0] is the probe process: a few viewers whose latency is not inflated by the bulk clients' own
    # CPU backlog (they are CPU-bound at thousands of viewers); the rest share the bulk processes.
    probes = min(probe_count, len(plan) // 2)
    bulk = plan[probes:]
    shares = [plan[:probes]] + [bulk[i::len(pipes) - 1] for i in range(len(pipes) - 1)]
    for index, (pipe, share) in enumerate(zip(pipes, shares)):
        if index > 0 and epoll_bulk:
            pipe.send(("bulk", share, hold))
        else:
            pipe.send(("watch", share, hold, spread))
    ready = [0] * len(pipes)
    done: list[dict | None] = [None] * len(pipes)
    fired = not wait_ready
    ready_at = None
    deadline = time.time() + ready_timeout
    while any(d is None for d in done):
        for index, pipe in enumerate(pipes):
            while pipe.poll():
                kind, value = pipe.recv()
                if kind == "ready":
                    ready[index] = value
                else:
                    done[index] = value
        if not fired and (sum(ready) >= len(plan) or time.time() > deadline):
            fired = True
            ready_at = sum(ready)
            if on_ready:
                on_ready(sum(ready))
        time.sleep(0.05)
    merged = Stats().__dict__
    merged["probe_latencies"] = list((done[0] or {}).get("latencies", []))
    for part in done:
        for key, value in (part or {}).items():
            if key == "error_kinds":
                for kind, count in value.items():
                    merged[key][kind] = merged[key].get(kind, 0) + count
            else:
                merged[key] = merged[key] + value
    merged["ready_at_start"] = ready_at
    return merged


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--worker-pids", type=int, nargs="+", required=True)
    parser.add_argument("--stages", default="100,1000,10000")
    parser.add_argument("--many-reports", type=int, default=100, help="reports in the 'many' stages")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--procs", type=int, default=1, help="bulk viewer processes (besides the probe's)")
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--bulk-nice", type=int, default=0,
                        help="niceness of the bulk viewer processes (0: same priority as the server)")
    parser.add_argument("--storm", type=int, default=1000)
    parser.add_argument("--storm-seconds", type=float, default=5.0)
    args = parser.parse_args()
    global BULK_NICE
    BULK_NICE = args.bulk_nice

    sources = [f"127.0.0.{i}" for i in range(1, args.sources + 1)]
    pipes = []
    procs = []
    for index in range(args.procs + 1):
        parent, child_end = mp.Pipe()
        # The first process holds the probe viewers; the bulk ones yield the CPU to it and to the server.
        niceness = 0 if index == 0 else args.bulk_nice
        proc = mp.Process(target=child, args=(child_end, args.url, sources, niceness), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    db = Database(args.database_url)
    rows = []
    try:
        stages = [int(s) for s in args.stages.split(",") if s]
        for shape in ("one", "many"):
            for viewers in stages:
                if shape == "many" and viewers < args.many_reports:
                    continue
                count = 1 if shape == "one" else args.many_reports
                reports = make_reports(db, count)
                expected_last = args.events + 1
                plan = [(reports[i % count][1], 0, expected_last) for i in range(viewers)]
                measures = {}

                def drive(ready: int, reports=reports, measures=measures) -> None:
                    time.sleep(1.0)
                    measures["rss_open"] = rss_kib(args.worker_pids)
                    measures["held"] = ready
                    for _ in range(args.events):
                        db.send("".join(bench_event(rid) for rid, _ in reports))
                        time.sleep(args.interval)
                    db.send("".join(complete_event(rid) for rid, _ in reports))

                base = rss_kib(args.worker_pids)
                hold = 60 + viewers / 100
                result = run_stage(pipes, plan, hold, on_ready=drive, ready_timeout=60 + viewers / 50,
                                   epoll_bulk=True)
                held = measures.get("held", 0)
                per_stream = (measures.get("rss_open", base) - base) / held if held else float("nan")
                probe = result["probe_latencies"]
                rows.append((f"{shape} report" if shape == "one" else f"{count} reports", viewers, held,
                             result["shed"], result["errors"], result["finished"],
                             percentile(probe, 50) * 1000, percentile(probe, 99) * 1000,
                             max(probe or [float("nan")]) * 1000,
                             percentile(result["latencies"], 50) * 1000, percentile(result["latencies"], 99) * 1000,
                             result["lost"], result["duplicated"], per_stream, measures.get("rss_open", 0) / 1024))
                print_row(rows[-1], header=len(rows) == 1)
                if result["error_kinds"]:
                    print(f"    errors: {result['error_kinds']}", flush=True)
                time.sleep(2)
        # Reconnect storm: a finished report of 50 events; every viewer resumes from a random id.
        (report_id, public_id), = make_reports(db, 1)
        db.send("".join(bench_event(report_id) for _ in range(49)) + complete_event(report_id))
        time.sleep(1)
        plan = [(public_id, random.randrange(0, 50), 50) for _ in range(args.storm)]
        started = time.time()
        result = run_stage(pipes, plan, hold=60, spread=args.storm_seconds, wait_ready=False)
        elapsed = time.time() - started
        print()
        print(f"reconnect storm: {args.storm} reconnects spread over {args.storm_seconds:.0f} s with replay: "
              f"{result['finished']} complete in {elapsed:.1f} s, shed {result['shed']}, errors {result['errors']}, "
              f"replay time p50 {percentile(result['durations'], 50) * 1000:.0f} ms "
              f"p99 {percentile(result['durations'], 99) * 1000:.0f} ms, "
              f"lost {result['lost']}, duplicated {result['duplicated']}, out of order {result['out_of_order']}"
              + (f", errors by kind {result['error_kinds']}" if result["error_kinds"] else ""))
    finally:
        for pipe in pipes:
            pipe.send(("quit",))
        db.close()
        for proc in procs:
            proc.join(5)
    return 0


def print_row(row, header: bool) -> None:
    if header:
        print("latency: probe = 50 viewers in a process of their own (delivery through nginx); all = every viewer,")
        print("         which at thousands of viewers mostly measures the Python client's own CPU backlog")
        if BULK_NICE:
            print(f"         bulk viewer processes run at nice {BULK_NICE} (their CPU would be the viewers' machines')")
        print(f"{'shape':<12} {'viewers':>7} {'held':>6} {'shed':>5} {'errors':>6} {'ended':>6} "
              f"{'probe p50':>9} {'p99':>7} {'max':>7} {'all p50':>8} {'all p99':>8} {'lost':>5} {'dup':>4} "
              f"{'KiB/stream':>10} {'RSS MiB':>8}")
    shape, viewers, held, shed, errors, ended, p50, p99, worst, all50, all99, lost, dup, per, rss = row
    print(f"{shape:<12} {viewers:>7} {held:>6} {shed:>5} {errors:>6} {ended:>6} {p50:>9.1f} {p99:>7.1f} "
          f"{worst:>7.1f} {all50:>8.1f} {all99:>8.1f} {lost:>5} {dup:>4} {per:>10.1f} {rss:>8.0f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
