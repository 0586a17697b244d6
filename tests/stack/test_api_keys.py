"""API keys and logs for log shippers (issue 14), on a throw-away stack of their own: low per-address limits
(so an anonymous client hits them within a few requests) and LOG_FORMAT=json (so every worker line can be
parsed). Keys are made with the operator's CLI, `marketlens apikeys`, against that stack's database."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
import urllib3

from .helpers import ROOT, curl, wait_for
from .report_flow_helpers import word

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

pytestmark = pytest.mark.usefixtures("stack")

STACK = str(ROOT / "scripts/stack.sh")
ANONYMOUS_REPORTS = 2   # MAX_REPORTS_PER_CLIENT_PER_HOUR of this stack
ANONYMOUS_RUNS = 1      # MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR of this stack
BATCH = {"research_goal": "Find fintech companies using AI for fraud detection",
         "company_domains": ["stripe.com", "paypal.com"], "search_depth": "standard",
         "max_parallel_searches": 20, "confidence_threshold": 0.7}


class KeyStack:
    """The stack's address, its state (DATABASE_URL, log directory) and the operator's CLI on it."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.env = {}
        for line in (run_dir / "stack.env").read_text().splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value.strip("'")
        self.base = self.env["MARKETLENS_URL"].rstrip("/")
        self.logs = Path(self.env["MARKETLENS_LOG_DIR"])

    def cli(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATABASE_URL": self.env["DATABASE_URL"], "LOG_FORMAT": "json"}
        proc = subprocess.run([os.environ["MARKETLENS_BIN"], "apikeys", *args], capture_output=True, text=True,
                              timeout=60, env=env)
        if ok:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    def create_key(self, reports: int, runs: int) -> tuple[str, str]:
        name = f"partner-{word()}"
        made = self.cli("create", "--name", name, "--reports-per-hour", str(reports), "--batches-per-hour", str(runs))
        key = made.stdout.strip()
        assert key.startswith("mlk_") and len(key) == 45, made.stdout
        assert key not in made.stderr
        return name, key

    def create_report(self, key: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return requests.post(self.base + "/api/v1/reports", json={"industry": f"Cold storage {word()}",
                             "region": "Europe", "fresh": True}, headers=headers, verify=False, timeout=30)

    def start_batch(self, key: str | None = None) -> int:
        """Opens the batch stream and returns its status (the stream is closed at once: only admission counts)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        with requests.post(self.base + "/research/batch/stream", json=BATCH, headers=headers, verify=False,
                           timeout=30, stream=True) as reply:
            return reply.status_code


@pytest.fixture(scope="module")
def keyed():
    if not os.environ.get("MARKETLENS_BIN"):
        pytest.fail("MARKETLENS_BIN is not set: run through `make test` or scripts/stack.sh env")
    run_dir = Path(tempfile.mkdtemp(prefix="marketlens-apikeys.", dir="/tmp"))
    os.chmod(run_dir, 0o755)
    env = {key: value for key, value in os.environ.items()
           if key not in ("MARKETLENS_URL", "MARKETLENS_HTTP_URL", "MARKETLENS_RUN_DIR", "DATABASE_URL")}
    env.update(MARKETLENS_SKIP_DEPS="1", LOG_FORMAT="json", MARKETLENS_WORKERS="2", MARKETLENS_THREADS="8",
               MAX_REPORTS_PER_CLIENT_PER_HOUR=str(ANONYMOUS_REPORTS),
               MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR=str(ANONYMOUS_RUNS))
    try:
        up = subprocess.run([STACK, "up", "--test", "--no-build", "--run-dir", str(run_dir)], env=env,
                            capture_output=True, text=True, timeout=240)
        assert up.returncode == 0, up.stderr
        yield KeyStack(run_dir)
    finally:
        subprocess.run([STACK, "down", "--run-dir", str(run_dir)], capture_output=True, timeout=120)


def error_of(reply: requests.Response) -> dict:
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    return reply.json()["error"]


def test_a_key_raises_the_limits_for_its_holder_only(keyed):
    # Anonymous: the per-address limit of this stack.
    for _ in range(ANONYMOUS_REPORTS):
        assert keyed.create_report().status_code == 202
    refused = keyed.create_report()
    assert refused.status_code == 429 and error_of(refused)["code"] == "rate_limited"

    # The same address with a key: the key's own limit, whatever the address has used.
    name, key = keyed.create_key(reports=4, runs=6)
    for _ in range(4):
        made = keyed.create_report(key)
        assert made.status_code == 202, made.text
    over = keyed.create_report(key)
    assert over.status_code == 429 and error_of(over)["code"] == "rate_limited"
    assert key not in over.text

    # Anonymous use from the same address is still at its own limit; another key has a count of its own.
    assert keyed.create_report().status_code == 429
    _, other = keyed.create_key(reports=1, runs=0)
    assert keyed.create_report(other).status_code == 202
    assert keyed.create_report(other).status_code == 429

    # Batch runs likewise: two domains are over the anonymous limit of one run, within the key's six.
    assert keyed.start_batch() == 429
    assert keyed.start_batch(key) == 200
    assert keyed.start_batch(other) == 429

    listed = keyed.cli("list").stdout
    line = next(row for row in listed.splitlines() if row.startswith(name + " "))
    assert " 4 " in line and " 6 " in line and "never" not in line, line  # limits, and it was used
    assert key not in listed and key[:12] in listed   # the prefix id, never the key


def test_an_invalid_or_revoked_key_is_401_never_anonymous(keyed):
    name, key = keyed.create_key(reports=5, runs=5)
    report = keyed.create_report(key)
    assert report.status_code == 202
    report_id = report.json()["id"]
    assert requests.get(f"{keyed.base}/api/v1/reports/{report_id}", headers={"Authorization": f"Bearer {key}"},
                        verify=False, timeout=10).status_code == 200

    revoked = keyed.cli("revoke", name).stdout
    assert name in revoked and key not in revoked
    forged = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    for bearer in (key, forged, "not-a-key", "mlk_short"):
        for method, path, body in (("POST", "/api/v1/reports", {"industry": f"Cold storage {word()}"}),
                                   ("GET", f"/api/v1/reports/{report_id}", None),
                                   ("GET", "/api/v1/reports", None),
                                   ("POST", "/research/batch/stream", BATCH)):
            reply = requests.request(method, keyed.base + path, json=body, verify=False, timeout=10,
                                     headers={"Authorization": f"Bearer {bearer}"})
            assert reply.status_code == 401, (bearer[:8], method, path, reply.status_code)
            error = error_of(reply)
            assert error["code"] == "invalid_api_key" and error["message"], error
            assert bearer not in reply.text and key not in reply.text
            assert reply.headers.get("www-authenticate", "").startswith("Bearer")
    # Revoking by the prefix id works too, and a repeat says which key it was; so does a leaked key itself.
    assert name in keyed.cli("revoke", key[:12]).stdout
    leaked_name, leaked = keyed.create_key(reports=5, runs=5)
    assert keyed.create_report(leaked).status_code == 202
    by_key = keyed.cli("revoke", leaked)
    assert leaked_name in by_key.stdout and leaked not in by_key.stdout + by_key.stderr
    assert keyed.create_report(leaked).status_code == 401
    unknown = keyed.cli("revoke", forged, ok=False)
    assert unknown.returncode != 0 and forged not in unknown.stdout + unknown.stderr
    assert keyed.cli("revoke", "no-such-key", ok=False).returncode != 0


def log_lines(path: Path) -> list[str]:
    """The file's complete lines (a line being written at this moment, without its newline yet, is left out)."""
    return [line for line in path.read_text(errors="replace").split("\n")[:-1] if line.strip()]


def test_json_logs_carry_the_key_name_and_nginx_the_same_request_id(keyed):
    name, key = keyed.create_key(reports=5, runs=5)
    reply = curl(keyed.base + "/api/v1/reports?limit=1", "-H", f"Authorization: Bearer {key}")
    assert reply.status == 200
    assert reply.headers.get("x-cache-status") == "BYPASS"   # a request with a key never meets the page cache
    request_id = reply.headers["x-request-id"]

    def worker_line() -> dict | None:
        for line in log_lines(keyed.logs / "marketlens.log"):
            entry = json.loads(line)
            if entry.get("request_id") == request_id and entry.get("message") == "request":
                return entry
        return None
    assert wait_for(lambda: worker_line() is not None, 10), "no JSON request line with the response's id"
    entry = worker_line()
    assert entry["api_key"] == name and entry["route"] == "/api/v1/reports" and entry["status"] == 200
    assert entry["level"] == "info" and isinstance(entry["duration_ms"], int) and "worker" in entry
    assert entry["time"].endswith("Z") and entry["method"] == "GET"

    # nginx's access log is JSON lines too, joined on the same id.
    access = [json.loads(line) for line in log_lines(keyed.logs / "nginx-access.log")]
    mine = [entry for entry in access if entry["request_id"] == request_id]
    assert len(mine) == 1, mine
    assert mine[0]["path"] == "/api/v1/reports?limit=1" and mine[0]["status"] == 200 and mine[0]["method"] == "GET"
    assert isinstance(mine[0]["request_time"], (int, float)) and isinstance(mine[0]["bytes"], int)

    # Every worker and supervisor line is one JSON object with the common fields, and no key is in any log.
    time.sleep(0.5)
    lines = log_lines(keyed.logs / "marketlens.log")
    assert len(lines) > 10
    for line in lines:
        entry = json.loads(line)
        assert isinstance(entry, dict) and {"time", "level", "message"} <= entry.keys(), line
    for log in keyed.logs.glob("*.log"):
        assert key not in log.read_text(errors="replace"), log.name
    anonymous = [json.loads(line) for line in lines if '"message":"request"' in line]
    assert any(e.get("route") == "/healthz" and "api_key" not in e for e in anonymous)
