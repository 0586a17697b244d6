"""Each test here starts its own throw-away stack with scripts/stack.sh, like `make up`/`make run` do,
and checks that stopping it leaves no process, socket or file behind."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .helpers import ROOT, alive, answers, curl, wait_for

pytestmark = pytest.mark.usefixtures("stack")

STACK = str(ROOT / "scripts/stack.sh")


@pytest.fixture
def own_run_dir():
    if not os.environ.get("MARKETLENS_BIN"):
        pytest.fail("MARKETLENS_BIN is not set: run through `make test` or scripts/stack.sh env")
    path = Path(tempfile.mkdtemp(prefix="marketlens-lifecycle.", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    if path.exists():  # the test failed half-way: stop whatever is left
        subprocess.run([STACK, "down", "--run-dir", str(path)], capture_output=True)


def stack_env(run_dir: Path) -> dict[str, str]:
    values = {}
    for line in (run_dir / "stack.env").read_text().splitlines():
        key, _, value = line.partition("=")
        values[key] = value.strip("'")
    return values


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("MARKETLENS_URL", "MARKETLENS_HTTP_URL", "MARKETLENS_RUN_DIR", "DATABASE_URL"):
        env.pop(key, None)
    env["MARKETLENS_SKIP_DEPS"] = "1"
    return env


def processes_of(run_dir: Path) -> list[int]:
    """Every pid the stack recorded: nginx master and workers, supervisor and workers, sim, postmaster."""
    pids = []
    for pidfile in [*run_dir.glob("*.pid"), run_dir / "nginx/nginx.pid", run_dir / "data/postgres/postmaster.pid"]:
        if pidfile.exists():
            pid = int(pidfile.read_text().split()[0])
            pids.append(pid)
            pids.extend(int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                         text=True).stdout.split())
    return pids


def port_open(port: int) -> bool:
    return subprocess.run(["curl", "-ks", "--max-time", "2", "-o", "/dev/null", f"https://127.0.0.1:{port}/"],
                          capture_output=True).returncode == 0


def assert_nothing_left(run_dir: Path, pids: list[int], https_port: int) -> None:
    assert wait_for(lambda: not any(alive(p) for p in pids), 10), \
        f"still running after stop: {[p for p in pids if alive(p)]}"
    assert not run_dir.exists() or not list(run_dir.rglob("*.sock")), "sockets left behind"
    assert not run_dir.exists(), f"test-mode run dir {run_dir} not removed"
    assert not port_open(https_port)


def test_up_serves_then_down_leaves_nothing_and_a_dead_app_gets_the_styled_502(own_run_dir):
    up = subprocess.run([STACK, "up", "--test", "--no-build", "--run-dir", str(own_run_dir)],
                        env=child_env(), capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    state = stack_env(own_run_dir)
    base = state["MARKETLENS_URL"].rstrip("/")
    assert up.stdout.strip() == state["MARKETLENS_URL"]
    assert curl(base + "/healthz").status == 200

    status = subprocess.run([STACK, "status", "--run-dir", str(own_run_dir)], capture_output=True, text=True)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "nginx" in status.stdout and "postgres" in status.stdout

    # Up again is a no-op that reports the same URL.
    again = subprocess.run([STACK, "up", "--test", "--no-build", "--run-dir", str(own_run_dir)],
                           env=child_env(), capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.strip() == state["MARKETLENS_URL"]

    pids = processes_of(own_run_dir)
    supervisor = int((own_run_dir / "marketlens.pid").read_text())
    os.kill(supervisor, signal.SIGTERM)
    assert wait_for(lambda: not alive(supervisor), 30)
    reply = curl(base + "/")
    assert reply.status in (502, 503, 504)
    assert "Service unavailable" in reply.text and "/static/css/app.css" in reply.text
    assert reply.headers.get("cache-control") == "no-store"

    down = subprocess.run([STACK, "down", "--run-dir", str(own_run_dir)], capture_output=True, text=True,
                          timeout=120)
    assert down.returncode == 0, down.stderr
    assert_nothing_left(own_run_dir, pids, int(state["HTTPS_PORT"]))


def test_run_stops_everything_on_ctrl_c(own_run_dir):
    proc = subprocess.Popen([STACK, "run", "--test", "--no-build", "--run-dir", str(own_run_dir)],
                            env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert wait_for(lambda: (own_run_dir / "stack.env").exists()
                        and "MARKETLENS_URL=https" in (own_run_dir / "stack.env").read_text()
                        and (own_run_dir / "nginx/nginx.pid").exists(), 120, 0.5), "run did not start"
        state = stack_env(own_run_dir)
        base = state["MARKETLENS_URL"].rstrip("/")
        # nginx writes its pid file before /healthz answers through it (the stack waits for that itself too).
        assert wait_for(lambda: answers(base + "/healthz"), 30, 0.5), "the stack never answered /healthz"
        pids = processes_of(own_run_dir)
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert_nothing_left(own_run_dir, pids, int(state["HTTPS_PORT"]))
