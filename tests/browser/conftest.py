"""Browser tests: headless Chromium (tests/browser/cdp.py) against the running stack. They share the `stack`
fixture of tests/stack (MARKETLENS_URL and MARKETLENS_RUN_DIR from `make test`, or a throw-away stack)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stack.conftest import stack  # noqa: E402,F401  (re-exported fixture)

from .cdp import Browser  # noqa: E402


@pytest.fixture
def browser():
    if not shutil.which("chromium") and not __import__("os").environ.get("CHROMIUM_BIN"):
        pytest.fail("chromium is not installed (apt-get install chromium) and CHROMIUM_BIN is not set")
    with Browser() as b:
        yield b
