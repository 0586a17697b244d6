"""Server-Sent Events read as a browser's EventSource reads them (WHATWG HTML, "event stream interpretation"): the
one line parser of the stack tests' viewer (tests/stack/live_helpers.py) and the soak's (tests/soak/soak.py)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol


class LineSource(Protocol):
    def readline(self) -> bytes: ...


@dataclass
class Event:
    id: str | None
    event: str
    data: str


def events(response: LineSource, deadline: float, on_comment: Callable[[str], None] | None = None,
           on_retry: Callable[[int], None] | None = None) -> Iterator[Event]:
    """Yields each event with data from `response` (an http.client response) until the stream ends or
    `time.monotonic()` passes `deadline`. Comment lines (`:` …) go to `on_comment`, `retry:` values to
    `on_retry`; an event without data is not dispatched, and its id does not count (as in a browser)."""
    data: list[str] = []
    event_id, name = None, "message"
    while time.monotonic() < deadline:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
        if line == "":
            if data:
                yield Event(event_id, name, "\n".join(data))
            data, event_id, name = [], None, "message"
        elif line.startswith(":"):
            if on_comment:
                on_comment(line[1:].strip())
        else:
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "data":
                data.append(value)
            elif key == "id":
                event_id = value
            elif key == "event":
                name = value
            elif key == "retry" and value.isdigit() and on_retry:
                on_retry(int(value))
