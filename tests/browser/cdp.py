"""A minimal headless-Chromium driver over the Chrome DevTools Protocol, for the browser tests.

    with Browser() as b:
        b.navigate("https://localhost:8443/console")
        b.wait_for("document.querySelector('#history li') !== null")
        assert b.evaluate("document.title") == "..."

Chromium runs headless with a throw-away profile, accepts the stack's self-signed certificate, and records
JavaScript dialogs (alert/confirm/prompt: dismissed at once, kept in `dialogs`), console messages (`console`),
uncaught exceptions (`exceptions`) and failed or cancelled network loads (`failed_loads`), so tests can assert that
hostile content stayed inert and that a stream really was aborted. Needs `websocket-client` and a `chromium`
binary (CHROMIUM_BIN overrides).
"""
from __future__ import annotations

import json
from pathlib import Path
import base64
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

import websocket


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, *, binary: str | None = None, timeout: float = 20):
        self.binary = binary or os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "chromium"
        self.profile = tempfile.mkdtemp(prefix="cdp-profile-")
        self.dialogs: list[dict] = []
        self.console: list[str] = []
        # console.error() calls and the browser's own error entries (a CSP violation, a failed resource load).
        self.console_errors: list[str] = []
        self.exceptions: list[str] = []
        self.failed_loads: list[dict] = []
        self.requests: dict[str, str] = {}
        self._events: list[dict] = []
        self._next_id = 0
        args = [
            self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--mute-audio",
            "--ignore-certificate-errors", f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
            "--window-size=1280,900", "about:blank",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        try:
            port = self._wait_for_port(timeout)
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
            page = next(t for t in targets if t.get("type") == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.send(f"{domain}.enable")
        except Exception:
            self.close()
            raise

    def _wait_for_port(self, timeout: float) -> int:
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CDPError(f"chromium exited with {self.process.returncode}")
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise CDPError("chromium did not open its DevTools port")

    # ------------------------------------------------------------------ protocol

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict:
        """Sends a command and returns its result; events read meanwhile are handled and kept."""
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline)
            if message is None:
                raise CDPError(f"{method}: no answer within {timeout} s")
            if message.get("id") == ident:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _read(self, deadline: float) -> dict | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        self.ws.settimeout(remaining)
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if "method" in message:
            self._handle_event(message)
        return message

    def _handle_event(self, message: dict) -> None:
        method, params = message["method"], message.get("params", {})
        self._events.append(message)
        if method == "Page.javascriptDialogOpening":
            self.dialogs.append(params)
            # Answer without waiting: a dialog blocks the page until handled.
            self._next_id += 1
            self.ws.send(json.dumps({"id": self._next_id, "method": "Page.handleJavaScriptDialog",
                                     "params": {"accept": False}}))
        elif method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            if params.get("type") == "error":
                self.console_errors.append(self.console[-1])
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                self.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Runtime.exceptionThrown":
            self.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:2000])
        elif method == "Network.requestWillBeSent":
            self.requests[params["requestId"]] = params["request"]["url"]
        elif method == "Network.loadingFailed":
            self.failed_loads.append({**params, "url": self.requests.get(params["requestId"], "")})

    def pump(self, seconds: float) -> None:
        """Processes events for `seconds` (dialogs, console, network)."""
        deadline = time.monotonic() + seconds
        while self._read(deadline) is not None:
            pass

    # ------------------------------------------------------------------ conveniences

    def evaluate(self, expression: str, *, await_promise: bool = True, timeout: float = 30) -> Any:
        """The JSON value of `expression` in the page (promises awaited); raises on a JavaScript exception."""
        result = self.send("Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True,
                           awaitPromise=await_promise, userGesture=True)
        if "exceptionDetails" in result:
            raise CDPError(f"evaluate failed: {json.dumps(result['exceptionDetails'])[:1000]}")
        return result.get("result", {}).get("value")

    def navigate(self, url: str, timeout: float = 30) -> None:
        """Loads `url` and waits for its load event."""
        self._events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for_event("Page.loadEventFired", timeout)

    def reload(self, timeout: float = 30) -> None:
        self._events.clear()
        self.send("Page.reload", ignoreCache=True)
        self.wait_for_event("Page.loadEventFired", timeout)

    def wait_for_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self._events:
                if event["method"] == method:
                    self._events.remove(event)
                    return event.get("params", {})
            if self._read(deadline) is None and time.monotonic() >= deadline:
                raise CDPError(f"no {method} within {timeout} s")

    def wait_for(self, expression: str, timeout: float = 30, interval: float = 0.1) -> Any:
        """Polls `expression` until it is truthy; returns its value. Navigations in between are tolerated."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression, timeout=max(1.0, deadline - time.monotonic()))
                if value:
                    return value
            except CDPError as error:  # e.g. the context was destroyed by a navigation
                last_error = error
            self.pump(interval)
        raise CDPError(f"timed out waiting for {expression!r}" + (f" (last error: {last_error})" if last_error else ""))

    def call(self, method: str, **params: Any) -> dict:
        """Same as `send`: one CDP command, its result."""
        return self.send(method, **params)

    def screenshot(self, path: str) -> None:
        """Saves a PNG of the page, for a person to look at."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                try:
                    self.ws.send(json.dumps({"id": 0, "method": "Browser.close", "params": {}}))
                except Exception:
                    pass
                self.ws.close()
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
