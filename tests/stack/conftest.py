"""The whole-stack tests run against a stack started by `make test` (scripts/test.sh), which exports
MARKETLENS_URL, MARKETLENS_HTTP_URL and MARKETLENS_RUN_DIR. Run alone, they start their own
throw-away stack with scripts/stack.sh and stop it afterwards."""
from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from .helpers import ROOT


def _load_env(run_dir: str) -> None:
    out = subprocess.run([str(ROOT / "scripts/stack.sh"), "env", "--run-dir", run_dir],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ[key] = shlex.split(value)[0] if value else ""


@pytest.fixture(scope="session", autouse=True)
def stack():
    """The running stack's URLs; starts one for this session when none was given."""
    if os.environ.get("MARKETLENS_URL") and os.environ.get("MARKETLENS_RUN_DIR"):
        yield os.environ["MARKETLENS_URL"]
        return
    proc = subprocess.run([str(ROOT / "scripts/stack.sh"), "up", "--test"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"could not start a test stack:\n{proc.stderr}")
    run_dir = next(line.split("run dir: ", 1)[1] for line in proc.stderr.splitlines() if "run dir: " in line)
    try:
        _load_env(run_dir.strip())
        yield os.environ["MARKETLENS_URL"]
    finally:
        subprocess.run([str(ROOT / "scripts/stack.sh"), "down", "--run-dir", run_dir.strip()])
