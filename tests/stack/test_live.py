"""Live progress streams through nginx (product.md §8): fan-out, resume, worker death, finished reports."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time

import pytest

from .helpers import alive, curl, wait_for, worker_pids
from .live_helpers import Viewer, complete, make_report, message


def url() -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/")


def start(viewers: list[Viewer], timeout: float = 60) -> list[threading.Thread]:
    threads = [threading.Thread(target=v.follow, kwargs={"timeout": timeout}, daemon=True) for v in viewers]
    for t in threads:
        t.start()
    return threads


def test_fifty_viewers_of_one_run_get_identical_gap_free_sequences():
    report_id, public_id = make_report()
    message(report_id, "before anyone watched", count=5)
    viewers = [Viewer(url(), public_id) for _ in range(50)]
    threads = start(viewers)
    time.sleep(1.0)
    for step in range(10):
        message(report_id, f"step {step}", count=3)
        time.sleep(0.05)
    complete(report_id, public_id)
    for t in threads:
        t.join(70)
    expected = list(range(1, 37))
    for viewer in viewers:
        assert viewer.finished, f"viewer did not see the end (connects={viewer.connects})"
        assert viewer.ids == expected
        assert viewer.events[0].event == "connected"
    first = [(e.id, e.event, e.data) for e in viewers[0].events]
    assert all([(e.id, e.event, e.data) for e in v.events] == first for v in viewers)


def test_a_viewer_resuming_with_its_last_id_sees_every_remaining_event_once():
    report_id, public_id = make_report()
    message(report_id, "early", count=8)
    viewer = Viewer(url(), public_id, last_id="5")
    thread = start([viewer])[0]
    time.sleep(0.5)
    message(report_id, "later", count=4)
    complete(report_id, public_id)
    thread.join(30)
    assert viewer.ids == list(range(6, 14))
    assert viewer.events[-1].event == "completed"


def test_unknown_report_is_404_json_and_shedding_never_5xx():
    reply = curl(url() + "/reports/rpt_nosuchreport/events", "-H", "Accept: text/event-stream")
    assert reply.status == 404
    assert reply.headers["content-type"].startswith("application/json")
    assert '"error"' in reply.text
    api = curl(url() + "/api/v1/reports/rpt_nosuchreport/events")
    assert api.status == 404


def test_sse_headers_through_nginx():
    report_id, public_id = make_report("completed")
    message(report_id, "only", count=2)
    reply = curl(url() + f"/reports/{public_id}/events", "--http2")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["cache-control"] == "no-cache"
    assert "content-encoding" not in reply.headers
    assert reply.http_version == "2"
    assert reply.text.startswith("retry: 2000\nevent: connected\n")


def _serving_worker() -> int | None:
    """The worker process holding an established connection on its FastCGI socket (our one open stream)."""
    out = subprocess.run(["ss", "-xpH", "state", "connected"], capture_output=True, text=True).stdout
    workers = worker_pids()
    sock_dir = os.environ.get("MARKETLENS_SOCKET_DIR", "")
    holders: set[int] = set()
    for line in out.splitlines():
        if sock_dir and sock_dir not in line:
            continue
        for pid in re.findall(r"pid=(\d+)", line):
            if int(pid) in workers:
                holders.add(int(pid))
    return holders.pop() if len(holders) == 1 else None


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill -9", "graceful stop"])
def test_the_serving_worker_dying_or_stopping_resumes_exactly_on_another(stop):
    report_id, public_id = make_report()
    message(report_id, "before", count=3)
    viewer = Viewer(url(), public_id)
    thread = start([viewer], timeout=60)[0]
    assert wait_for(lambda: len(viewer.ids) >= 3, 10)
    victim = None
    assert wait_for(lambda: (victim := _serving_worker()) is not None, 5)
    victim = _serving_worker()
    assert victim is not None
    os.kill(victim, stop)
    message(report_id, "while reconnecting", count=4)
    assert wait_for(lambda: not alive(victim), 5)
    assert wait_for(lambda: len(viewer.ids) >= 7, 20), viewer.ids
    message(report_id, "after", count=3)
    complete(report_id, public_id)
    thread.join(40)
    assert viewer.connects >= 2
    assert viewer.ids == list(range(1, 12))
    # The supervisor brings the worker back.
    assert wait_for(lambda: len(worker_pids()) == int(os.environ.get("MARKETLENS_WORKERS", "2")), 15)


def test_a_completed_report_replays_everything_and_ends():
    report_id, public_id = make_report()
    message(report_id, "all of it", count=30)
    complete(report_id, public_id)
    viewer = Viewer(url(), public_id).follow(timeout=20, reconnect=False)
    assert viewer.finished
    assert viewer.connects == 1
    assert viewer.ids == list(range(1, 32))
