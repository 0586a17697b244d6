"""The whole-stack tests run against a stack started by `make test` (scripts/test.sh), which exports
MARKETLENS_URL, MARKETLENS_HTTP_URL and MARKETLENS_RUN_DIR. Run alone, they start their own
throw-away stack with scripts/stack.sh and stop it afterwards."""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile

import pytest

from .helpers import ROOT

STACK = str(ROOT / "scripts/stack.sh")


def _load_env(run_dir: str) -> None:
    out = subprocess.run([STACK, "env", "--run-dir", run_dir], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ[key] = shlex.split(value)[0] if value else ""


@pytest.fixture(scope="session")
def stack():
    """The running stack's URL; starts one for this session when none was given."""
    if os.environ.get("MARKETLENS_URL") and os.environ.get("MARKETLENS_RUN_DIR"):
        yield os.environ["MARKETLENS_URL"]
        return
    run_dir = tempfile.mkdtemp(prefix="marketlens-test.", dir="/tmp")
    os.chmod(run_dir, 0o755)
    try:
        proc = subprocess.run([STACK, "up", "--test", "--run-dir", run_dir], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.fail(f"could not start a test stack:\n{proc.stderr}")
        _load_env(run_dir)
        yield os.environ["MARKETLENS_URL"]
    finally:
        subprocess.run([STACK, "down", "--test", "--run-dir", run_dir], capture_output=True)
