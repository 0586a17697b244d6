"""Workers survive malformed FastCGI and are restarted after kill -9 while requests keep succeeding."""
from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import time

import pytest

from .helpers import alive, curl, run_dir, supervisor_pid, wait_for, worker_pids

pytestmark = pytest.mark.usefixtures("stack")


def url(path: str) -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/") + path


def record(kind: int, content: bytes, request_id: int = 1, version: int = 1) -> bytes:
    return struct.pack(">BBHHBB", version, kind, request_id, len(content), 0, 0) + content


def begin_request() -> bytes:
    return record(1, struct.pack(">HB5x", 1, 0))  # role RESPONDER, no keep-alive


def param(name: bytes, value: bytes) -> bytes:
    def length(n: int) -> bytes:
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


MALFORMED = {
    "garbage": b"\x00\xffGET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)),
    "bad version": record(1, struct.pack(">HB5x", 1, 0), version=9),
    "truncated header": b"\x01\x01\x00",
    "truncated content": struct.pack(">BBHHBB", 1, 1, 1, 8, 0, 0) + b"\x00\x01",
    "unknown record type": begin_request() + record(42, b"hello"),
    "param length past the record": begin_request() + record(4, b"\x7f\x05ab") + record(4, b""),
    "huge param length": begin_request() + record(4, struct.pack(">I", 0xFFFFFFF0) + b"\x01ab") + record(4, b""),
    "params then nothing": begin_request()
    + record(4, param(b"REQUEST_METHOD", b"POST") + param(b"REQUEST_URI", b"/reports")
             + param(b"CONTENT_LENGTH", b"999999999")) + record(4, b""),
    "content length lies": begin_request()
    + record(4, param(b"REQUEST_METHOD", b"POST") + param(b"REQUEST_URI", b"/api/v1/validate")
             + param(b"DOCUMENT_URI", b"/api/v1/validate") + param(b"CONTENT_TYPE", b"application/json")
             + param(b"CONTENT_LENGTH", b"10")) + record(4, b"") + record(5, b"{\"industry\": \"x\"}" * 4)
    + record(5, b""),
    "invalid utf-8 params": begin_request()
    + record(4, param(b"REQUEST_METHOD", b"GET") + param(b"REQUEST_URI", b"/\xff\xfe?q=\xc3\x28")
             + param(b"DOCUMENT_URI", b"/\xff\xfe") + param(b"QUERY_STRING", b"q=\xc3\x28")
             + param(b"HTTP_\xff", b"\xff")) + record(4, b"") + record(5, b""),
}


def send_raw(path: str, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(3)
        sock.connect(path)
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        except (TimeoutError, ConnectionError, OSError):
            return b""


def test_malformed_fastcgi_straight_to_a_worker_does_not_kill_it():
    sockets = sorted((run_dir() / "sock").glob("worker-*.sock"))
    assert sockets, "no worker sockets in the run dir"
    before = worker_pids()
    assert before
    for name, payload in MALFORMED.items():
        for sock in sockets:
            send_raw(str(sock), payload)
        reply = curl(url("/healthz"))
        assert reply.status == 200, f"after {name!r} the stack answered {reply.status}"
    time.sleep(0.5)
    assert worker_pids() == before, "a worker died (and was restarted) after malformed FastCGI input"
    for _ in range(2 * len(sockets)):  # round robin: every worker serves one
        assert curl(url("/")).status == 200


def test_kill_9_of_a_worker_is_invisible_to_visitors():
    before = worker_pids()
    assert len(before) >= 2, f"need at least two workers, found {sorted(before)}"
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: not alive(victim), 5)

    statuses = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        statuses.append(curl(url("/healthz")).status)
        statuses.append(curl(url("/")).status)
    assert statuses and all(s == 200 for s in statuses), f"statuses while a worker was down: {statuses}"

    def replaced() -> bool:
        now = worker_pids()
        return len(now) == len(before) and victim not in now
    assert wait_for(replaced, 20), f"the supervisor did not restart the worker: {sorted(worker_pids())}"
    assert alive(supervisor_pid())
    assert wait_for(lambda: len(list((run_dir() / "sock").glob("worker-*.sock"))) == len(before), 10)
    for _ in range(4 * len(before)):
        assert curl(url("/healthz")).status == 200


def _children(parent: int) -> set[int]:
    pids = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry.name}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            pids.add(int(entry.name))
    return pids


def test_workers_stop_when_their_supervisor_is_killed(tmp_path):
    """A `marketlens serve` of its own (not the shared stack's), with a database it cannot reach so that its
    workers touch nothing of the other tests: after kill -9 of the supervisor no worker is left behind."""
    sockets = tmp_path / "sock"
    env = dict(os.environ, DATABASE_URL="postgresql://marketlens@127.0.0.1:1/nowhere",
               MARKETLENS_SOCKET_DIR=str(sockets), MARKETLENS_WORKERS="2", MARKETLENS_THREADS="2", LOG_LEVEL="error")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    supervisor = subprocess.Popen([os.environ["MARKETLENS_BIN"], "serve"], env=env, cwd=root,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        assert wait_for(lambda: len(list(sockets.glob("worker-*.sock"))) == 2, 30), "the workers did not start"
        workers = _children(supervisor.pid)
        assert len(workers) == 2
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait(5)
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 15), "workers outlived their supervisor"
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        for pid in workers | _children(supervisor.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
