"""Helpers for the whole-stack tests: real curl over HTTPS, worker process lookup."""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Reply:
    """What curl saw: status, lower-cased headers (last value wins), body, HTTP version."""

    status: int
    headers: dict[str, str]
    body: bytes
    http_version: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def curl(url: str, *args: str, timeout: float = 20) -> Reply:
    """Runs real curl (-k: the stack's certificate is self-signed) and parses its answer."""
    cmd = ["curl", "-k", "-s", "--path-as-is", "--max-time", str(timeout), "-D", "-",
           "-w", "\n%{http_code} %{http_version}", *args, url]
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise AssertionError(f"curl {url} failed with exit code {proc.returncode}: {proc.stderr.decode()}")
    raw, _, trailer = proc.stdout.rpartition(b"\n")
    status_text, version = trailer.decode().split()
    # -D - prints every header block (redirects, 100-continue) before the body: take the last.
    head, body = _split_last_header_block(raw)
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return Reply(int(status_text), headers, body, version)


def answers(url: str, status: int = 200) -> bool:
    """Whether `url` answers `status` now: False, not an error, while nothing listens there yet (for wait_for)."""
    try:
        return curl(url, timeout=5).status == status
    except AssertionError:
        return False


def _split_last_header_block(raw: bytes) -> tuple[bytes, bytes]:
    rest = raw
    head = b""
    while rest.startswith(b"HTTP/"):
        head, sep, rest = rest.partition(b"\r\n\r\n")
        if not sep:
            break
        if not head.split(b" ", 2)[1].startswith(b"1"):  # skip 1xx interim blocks
            break
    return head, rest


def run_dir() -> Path:
    return Path(os.environ["MARKETLENS_RUN_DIR"])


def supervisor_pid() -> int:
    return int((run_dir() / "marketlens.pid").read_text().strip())


def worker_pids() -> set[int]:
    """Child processes of the `marketlens serve` supervisor: the FastCGI workers."""
    parent = supervisor_pid()
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            pids.add(int(entry.name))
    return pids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def database_connections_of(pid: int) -> int:
    """PostgreSQL connections the process `pid` holds open now: its TCP sockets connected to the stack's
    PostgreSQL port (whoever in the process opened them), read from /proc."""
    port = int(os.environ["POSTGRES_PORT"])
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port and inode in inodes:
                count += 1
    return count
