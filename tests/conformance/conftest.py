"""Starts the built upstream-sim (or uses UPSTREAM_SIM_URL / UPSTREAM_SIM_RESEND_URL) for the conformance tests."""
import os
import subprocess
import time

import pytest
import requests

API_KEY = os.environ.get("UPSTREAM_SIM_API_KEY", "sim-parallel-key")
RESEND_KEY = os.environ.get("UPSTREAM_SIM_RESEND_API_KEY", "re_sim_key")
WEBHOOK_SECRET = "sim_webhook_secret_123"
TIME_SCALE = 0.01


class Sim:
    def __init__(self, url, resend_url):
        self.url = url
        self.resend_url = resend_url

    def control(self, method, path, **kw):
        r = requests.request(method, self.url + "/__sim" + path, timeout=10, **kw)
        r.raise_for_status()
        return r.json()

    def fault(self, endpoint, fault, count=1, **params):
        return self.control("POST", "/faults", json={"endpoint": endpoint, "fault": fault, "count": count, **params})

    def headers(self, extra=None):
        return {"x-api-key": API_KEY, "content-type": "application/json", **(extra or {})}

    def create_run(self, **body):
        body.setdefault("processor", "lite")
        body.setdefault("input", "Industry: cold-chain logistics\nRegion: EU")
        r = requests.post(self.url + "/v1/tasks/runs", json=body, headers=self.headers(), timeout=10)
        assert r.status_code == 202, r.text
        return r.json()


def own_sim(*flags):
    """A second simulator process with `flags` for a module's fixture: yields its {"parallel": url, "resend": url}."""
    if os.environ.get("UPSTREAM_SIM_URL"):
        pytest.skip("uses its own simulator process")
    binary = os.environ.get("UPSTREAM_SIM_BIN", ".build/debug/upstream-sim")
    proc = subprocess.Popen([binary, "--port", "0", "--resend-port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().split()
    try:
        yield dict(p.split("=", 1) for p in line[1:])
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def sim():
    url = os.environ.get("UPSTREAM_SIM_URL")
    resend_url = os.environ.get("UPSTREAM_SIM_RESEND_URL")
    if url and resend_url:
        yield Sim(url, resend_url)
        return
    binary = os.environ.get("UPSTREAM_SIM_BIN", ".build/debug/upstream-sim")
    proc = subprocess.Popen(
        # Resend's 5 requests/s limit is off here (the suite sends bursts); test_resend_limits.py checks it.
        [binary, "--port", "0", "--resend-port", "0", "--time-scale", str(TIME_SCALE),
         "--webhook-secret", WEBHOOK_SECRET, "--resend-rate-limit", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("upstream-sim "), f"unexpected ready line: {line!r}"
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        yield Sim(fields["parallel"], fields["resend"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(autouse=True)
def clean_faults(sim):
    sim.control("DELETE", "/faults")
    yield
    sim.control("DELETE", "/faults")


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
