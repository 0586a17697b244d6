"""Several batches screened at once, as an operator sees them: every batch finishes with every domain's result,
and no worker gains a thread or a PostgreSQL connection per batch (they are followed on the worker's one
monitoring thread and stored through its fixed database lanes)."""
from __future__ import annotations

import concurrent.futures
import json
import secrets
import time

import requests

from .helpers import database_connections_of, worker_pids
from .live_helpers import psql
from .test_batch import assert_complete, get_events, post_stream, read_stream, url
from .test_stream_load import MAX_CONNECTIONS_PER_WORKER, MAX_THREADS_PER_WORKER, warm_up, worker_threads

BATCHES = 6
DOMAINS_PER_BATCH = 12


def resources() -> dict[int, tuple[int, int]]:
    """Per worker: (threads, PostgreSQL connections)."""
    return {pid: (threads, database_connections_of(pid)) for pid, threads in worker_threads().items()}


def running(public_ids: list[str]) -> int:
    listed = ",".join(f"'{p}'" for p in public_ids)
    return int(psql(f"SELECT count(*) FROM batches WHERE public_id IN ({listed}) AND status = 'running'"))


def test_concurrent_batches_finish_and_cost_no_thread_or_connection_each():
    tag = secrets.token_hex(3)
    bodies = [{
        "research_goal": "Find fintech companies using AI for fraud detection",
        "company_domains": [f"load{tag}-{b}-{d}.com" for d in range(DOMAINS_PER_BATCH)],
        "search_depth": "quick",
        # The smallest wave (5 runs) of 12 domains: every batch needs three waves, so all of them are followed
        # for a while together.
        "max_parallel_searches": 5,
        "confidence_threshold": 0.7,
    } for b in range(BATCHES)]
    # The request pool and the replay threads open their connections on first use: use them all before the
    # baseline is read (a finished batch, replayed by many viewers at once).
    warm = {**bodies[0], "company_domains": [f"warm{tag}-{d}.com" for d in range(5)]}
    warm_response = post_stream(warm)
    assert warm_response.status_code == 200, warm_response.text
    warm_id = warm_response.headers["X-Batch-ID"]
    read_stream(warm_response)
    warm_up(warm_id)
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda _: get_events(warm_id), range(64)))
    time.sleep(1)
    before = resources()

    samples: list[dict[int, tuple[int, int]]] = []
    most_running = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=BATCHES) as pool:
        # Posted together, so the batches overlap however slowly a loaded machine creates each one.
        responses = list(pool.map(post_stream, bodies))
        assert all(response.status_code == 200 for response in responses), [r.text for r in responses]
        ids = [response.headers["X-Batch-ID"] for response in responses]
        streams = [pool.submit(read_stream, response) for response in responses]
        while not all(stream.done() for stream in streams):
            samples.append(resources())
            most_running = max(most_running, running(ids))
            time.sleep(0.2)
        events = [stream.result(timeout=1) for stream in streams]
    after = resources()

    print(f"\n{BATCHES} batches, at most {most_running} running at once; per worker (threads, connections): "
          f"before {before}, peak {peak(samples)}, after {after}")
    assert most_running >= 3, f"the batches did not overlap (at most {most_running} running at once)"
    for body, batch_id, stream in zip(bodies, ids, events):
        complete = assert_complete(stream, body["company_domains"], 0.7)
        assert complete["summary"]["domains_analyzed"] == DOMAINS_PER_BATCH
        document = requests.get(url(f"/research/batch/{batch_id}"), verify=False, timeout=10).json()
        assert document["status"] == "completed"
        assert sorted(r["domain"] for r in document["results"]) == sorted(body["company_domains"])
        assert all(r["status"] == "completed" for r in document["results"])

    assert samples, "no sample was taken while the batches ran"
    for sample in samples:
        for pid, (threads, connections) in sample.items():
            if pid not in before:
                continue
            base_threads, base_connections = before[pid]
            # A little slack, not one per batch: a transient libcurl resolver thread; a replay thread whose
            # connection the warm-up did not open.
            assert threads <= base_threads + 2, (pid, threads, before[pid], most_running)
            assert connections <= base_connections + 1, (pid, connections, before[pid], most_running)
            assert threads <= MAX_THREADS_PER_WORKER and connections <= MAX_CONNECTIONS_PER_WORKER, (pid, sample[pid])
    assert set(worker_pids()) == set(before), "no worker died on the way"


def peak(samples: list[dict[int, tuple[int, int]]]) -> dict[int, tuple[int, int]]:
    result: dict[int, tuple[int, int]] = {}
    for sample in samples:
        for pid, (threads, connections) in sample.items():
            old = result.get(pid, (0, 0))
            result[pid] = (max(old[0], threads), max(old[1], connections))
    return result
