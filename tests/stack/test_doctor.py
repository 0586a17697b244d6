"""`marketlens doctor` adds up the PostgreSQL connections the workers can ever open (each worker's fixed budget
times MARKETLENS_WORKERS, plus headroom for the CLI) and compares the sum with what the test stack's server
allows (`max_connections` less the reserved slots), failing with a clear message when it does not fit."""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from .helpers import ROOT
from .live_helpers import psql

pytestmark = pytest.mark.usefixtures("stack")


def doctor(**settings: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PARALLEL_BASE_URL=os.environ["UPSTREAM_SIM_URL"], LOG_LEVEL="error", **settings)
    env.pop("RESEND_BASE_URL", None)
    return subprocess.run([os.environ["MARKETLENS_BIN"], "doctor", "--nginx-config", "/nonexistent/nginx.conf"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def server_allows() -> int:
    return int(psql("SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
                    " - coalesce(current_setting('reserved_connections', true)::int, 0)"))


def test_doctor_prints_the_connection_budget_and_passes_when_it_fits():
    result = doctor()
    line = next((l for l in result.stdout.splitlines() if "connection budget" in l), "")
    assert line.startswith("ok"), result.stdout + result.stderr
    workers = int(os.environ.get("MARKETLENS_WORKERS", "2"))
    match = re.search(r"per worker (\d+) \(requests (\d+) \+ monitor (\d+) \+ replay (\d+) \+ listen 1\) × (\d+) "
                      r"workers \+ (\d+) CLI = (\d+); the server allows (\d+) available", line)
    assert match, line
    per_worker, requests, monitor, replay, counted, headroom, total, available = map(int, match.groups())
    assert per_worker == requests + monitor + replay + 1
    assert counted == workers and total == per_worker * workers + headroom
    assert available == server_allows()
    assert result.returncode == 0, result.stdout + result.stderr


def test_doctor_fails_when_the_workers_need_more_than_the_server_allows():
    available = server_allows()
    # The most workers there may be: at 4 connections each at the least, more than this server's 200 allow.
    workers = 64
    result = doctor(MARKETLENS_WORKERS=str(workers))
    assert result.returncode != 0
    line = next((l for l in result.stdout.splitlines() if "connection budget" in l), "")
    assert line.startswith("FAIL"), result.stdout
    assert f"× {workers} workers" in line and f"the server allows {available} available" in line, line
    assert "raise max_connections" in line and "MARKETLENS_WORKERS" in line, line
