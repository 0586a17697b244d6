"""Batch company screening (seed 001) through nginx against upstream-sim: the seed's example request and its
event stream, the seed's Python client unchanged, bad bodies, and faults (a failed run, a dropped group
stream, workers killed mid-batch)."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest
import requests
import urllib3

from .helpers import wait_for, worker_pids

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

SEED_BODY = {
    "research_goal": "Find fintech companies using AI for fraud detection",
    "company_domains": ["stripe.com", "paypal.com"],
    "search_depth": "standard",
    "max_parallel_searches": 20,
    "confidence_threshold": 0.7,
}

SEED_ORDER = ["connected", "pipeline_start", "evidence_progress", "evidence_progress", "evidence_progress",
              "evidence_progress", "evidence_complete", "analysis_start", "domain_analyzed", "domain_analyzed",
              "pipeline_complete", "completed"]


def url(path: str) -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/") + path


def sim(path: str) -> str:
    return os.environ["UPSTREAM_SIM_URL"].rstrip("/") + path


def iter_sse(lines):
    """A strict reader of our framing: every field of every event, in order (heartbeats included), as they
    arrive; it stops after `completed` or `stream_error`."""
    current: dict = {}
    for raw in lines:
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if line == "":
            if current:
                yield current
                if current.get("event") in ("completed", "stream_error"):
                    return
            current = {}
            continue
        field, _, value = line.partition(": ")
        assert field in ("id", "retry", "event", "data"), f"unexpected line {line!r}"
        assert field not in current, f"repeated field {field} in one event"
        current[field] = value
    if current:
        yield current


def parse_sse(lines) -> list[dict]:
    return list(iter_sse(lines))


def post_stream(body: dict, timeout: float = 60):
    response = requests.post(url("/research/batch/stream"), json=body, stream=True, verify=False,
                             timeout=(5, timeout))
    return response


def read_stream(response) -> list[dict]:
    return [e for e in parse_sse(response.iter_lines(decode_unicode=False)) if e.get("event") != "heartbeat"]


def get_events(batch_id: str, last_event_id: str | None = None, timeout: float = 90) -> list[dict]:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    response = requests.get(url(f"/research/batch/{batch_id}/events"), headers=headers, stream=True,
                            verify=False, timeout=(5, timeout))
    assert response.status_code == 200
    return read_stream(response)


def payloads(events: list[dict], name: str) -> list[dict]:
    return [json.loads(e["data"]) for e in events if e["event"] == name]


def assert_ids_consecutive(events: list[dict]) -> None:
    ids = [int(e["id"]) for e in events]
    assert ids == list(range(ids[0], ids[0] + len(ids))), ids


def assert_complete(events: list[dict], domains: list[str], threshold: float) -> dict:
    """The invariants of every finished stream, whatever went wrong on the way."""
    names = [e["event"] for e in events]
    assert names[0] == "connected" and names[-1] == "completed"
    assert_ids_consecutive(events)
    core = [n for n in names if n not in ("error",)]
    assert core[:2] == ["connected", "pipeline_start"]
    assert [p["progress"] for p in payloads(events, "evidence_progress")] == [25, 50, 75, 100]
    assert core.index("evidence_complete") > max(i for i, n in enumerate(core) if n == "evidence_progress")
    assert core[core.index("evidence_complete") + 1] == "analysis_start"
    analyzed = payloads(events, "domain_analyzed")
    assert sorted(a["domain"] for a in analyzed) == sorted(domains)
    assert [a["progress"] for a in analyzed] == list(range(1, len(domains) + 1))
    assert core[-2:] == ["pipeline_complete", "completed"]
    complete = payloads(events, "pipeline_complete")[0]
    assert complete["summary"]["total_domains"] == len(domains)
    assert all(r["confidence"] >= threshold for r in complete["high_confidence_results"])
    assert complete["summary"]["high_confidence_matches"] == len(complete["high_confidence_results"])
    assert payloads(events, "completed")[0]["total_events"] == int(events[-1]["id"]) + 1
    return complete


def test_seed_example_request_streams_every_event_in_order():
    response = post_stream(SEED_BODY)
    assert response.status_code == 200
    headers = response.headers
    assert headers["Content-Type"].startswith("text/event-stream")
    assert headers["Cache-Control"] == "no-cache"
    assert headers["Connection"].lower() == "keep-alive"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["X-Accel-Buffering"] == "no"
    batch_id = headers["X-Batch-ID"]

    events = read_stream(response)
    assert [e["event"] for e in events] == SEED_ORDER
    assert [e["id"] for e in events] == [str(i) for i in range(12)]
    assert events[0]["retry"] == "1000" and all("retry" not in e for e in events[1:])
    data = [json.loads(e["data"]) for e in events]
    for payload in data:
        assert isinstance(payload["timestamp"], float) and payload["timestamp"] > 1.7e9

    connected, start = data[0], data[1]
    assert connected["message"] == "Research pipeline connected"
    assert start["type"] == "pipeline_start" and start["message"] == "Starting evidence collection"
    assert start["domains"] == ["stripe.com", "paypal.com"] and isinstance(start["total_strategies"], int)
    for progress, expected in zip(data[2:6], [25, 50, 75, 100]):
        assert progress["type"] == "evidence_progress" and progress["progress"] == expected
        assert progress["total"] == 2 and 1 <= progress["completed"] <= 2
        assert isinstance(progress["domains_with_evidence"], int)
    evidence = data[6]
    assert evidence["type"] == "evidence_complete" and evidence["message"] == "Evidence collection finished"
    assert isinstance(evidence["total_evidence"], int) and evidence["domains_with_evidence"] == 2
    assert data[7] == {**data[7], "type": "analysis_start", "message": "Starting domain analysis",
                       "domains_to_analyze": 2}
    for index, analyzed in enumerate(data[8:10], start=1):
        assert analyzed["type"] == "domain_analyzed" and analyzed["domain"] in ("stripe.com", "paypal.com")
        assert isinstance(analyzed["confidence"], float) and 0 <= analyzed["confidence"] <= 1
        assert isinstance(analyzed["evidence_count"], int) and analyzed["evidence_count"] > 0
        assert isinstance(analyzed["technologies"], list)
        assert analyzed["progress"] == index and analyzed["total"] == 2
    complete = data[10]
    assert complete["type"] == "pipeline_complete" and complete["message"] == "Research pipeline completed"
    summary = complete["summary"]
    assert set(summary) == {"total_domains", "domains_analyzed", "high_confidence_matches", "avg_confidence",
                            "total_evidence", "processing_time"}
    assert summary["total_domains"] == 2 and summary["domains_analyzed"] == 2
    assert summary["total_evidence"] == evidence["total_evidence"]
    confidences = sorted(a["confidence"] for a in data[8:10])
    assert summary["avg_confidence"] == pytest.approx(sum(confidences) / 2, abs=0.006)
    assert [r["domain"] for r in complete["results"]] == ["stripe.com", "paypal.com"]
    high = [r["domain"] for r in complete["results"] if r["confidence"] >= 0.7]
    assert sorted(r["domain"] for r in complete["high_confidence_results"]) == sorted(high)
    assert summary["high_confidence_matches"] == len(high)
    for result in complete["results"]:
        assert all(e["url"].startswith(("https://", "http://")) for e in result["evidence"])
    metrics = complete["metrics"]
    assert metrics["failed_requests"] == 0
    assert metrics["queries_per_second"] == pytest.approx(2 / summary["processing_time"], rel=0.2)
    assert data[11] == {**data[11], "message": "Research pipeline completed successfully", "total_events": 12}

    # Stored: the JSON document and the replayed stream say the same.
    document = requests.get(url(f"/research/batch/{batch_id}"), verify=False, timeout=10).json()
    assert document["status"] == "completed"
    assert document["results"] == complete["results"]
    assert document["summary"]["high_confidence_matches"] == summary["high_confidence_matches"]
    replay = get_events(batch_id)
    assert [(e["id"], e["event"], e["data"]) for e in replay[1:]] == [(e["id"], e["event"], e["data"]) for e in events[1:]]
    assert replay[0]["id"] == "0" and replay[0]["retry"] == "1000"
    tail = get_events(batch_id, last_event_id="7")
    assert tail[0]["event"] == "connected" and tail[0]["id"] == "7"
    assert [(e["id"], e["data"]) for e in tail[1:]] == [(e["id"], e["data"]) for e in events[8:]]


SEED_CLIENT = '''
import requests
import json
from typing import Generator

def stream_research(payload: dict) -> Generator[dict, None, None]:
    """Stream research events and yield parsed data."""
    url = 'http://localhost:8000/research/batch/stream'
    response = requests.post(url, json=payload, stream=True)
    
    event_type = None
    
    for line in response.iter_lines():
        if not line:
            continue
            
        decoded = line.decode('utf-8')
        
        if decoded.startswith('event: '):
            event_type = decoded[7:]
        elif decoded.startswith('data: '):
            data = json.loads(decoded[6:])
            yield {'type': event_type, 'data': data}

# Usage
payload = {
    'research_goal': 'Find AI startups',
    'company_domains': ['company1.com', 'company2.com'],
    'search_depth': 'standard',
    'max_parallel_searches': 20,
    'confidence_threshold': 0.7,
}

for event in stream_research(payload):
    if event['type'] == 'domain_analyzed':
        domain = event['data']['domain']
        confidence = event['data']['confidence']
        print(f"✓ {domain} - {confidence*100}% match")
    elif event['type'] == 'pipeline_complete':
        summary = event['data']['summary']
        print(f"\\nComplete: {summary['high_confidence_matches']} matches found")
        break
'''


def test_seed_python_client_consumes_the_stream_unchanged(monkeypatch, capsys):
    # Only the address differs: the stack serves HTTPS with a self-signed certificate.
    original = requests.post
    monkeypatch.setattr(requests, "post", lambda target, **kw: original(
        target.replace("http://localhost:8000", url("")), verify=False, **kw))
    exec(compile(SEED_CLIENT, "seed_001_client", "exec"), {"__name__": "seed_client"})
    out = capsys.readouterr().out.splitlines()
    checked = [line for line in out if line.startswith("✓ ")]
    assert sorted(line.split(" ")[1] for line in checked) == ["company1.com", "company2.com"]
    assert all(line.endswith("% match") for line in checked)
    assert out[-1].startswith("Complete: ") and out[-1].endswith(" matches found")


def sim_requests_since(seq: int, path: str) -> list[dict]:
    answer = requests.get(sim("/__sim/requests"), params={"since": seq, "path": path}, timeout=10).json()
    return answer["requests"]


def sim_last_seq() -> int:
    return requests.get(sim("/__sim/requests"), params={"since": 10**9}, timeout=10).json()["last_seq"]


BAD_BODIES = {
    "missing everything": ({}, ["research_goal", "company_domains", "search_depth", "max_parallel_searches",
                                "confidence_threshold"]),
    "missing goal": ({k: v for k, v in SEED_BODY.items() if k != "research_goal"}, ["research_goal"]),
    "goal not a string": ({**SEED_BODY, "research_goal": 42}, ["research_goal"]),
    "goal blank": ({**SEED_BODY, "research_goal": "   "}, ["research_goal"]),
    "goal 2001 characters": ({**SEED_BODY, "research_goal": "a" * 2001}, ["research_goal"]),
    "goal huge": ({**SEED_BODY, "research_goal": "x" * 500_000}, ["research_goal"]),
    "domains not a list": ({**SEED_BODY, "company_domains": "stripe.com"}, ["company_domains"]),
    "domains empty": ({**SEED_BODY, "company_domains": []}, ["company_domains"]),
    "domains of objects (the seed's placeholder)": ({**SEED_BODY, "company_domains": [{}]}, ["company_domains"]),
    "201 domains": ({**SEED_BODY, "company_domains": [f"company{i}.com" for i in range(201)]}, ["company_domains"]),
    "javascript: domain": ({**SEED_BODY, "company_domains": ["stripe.com", "javascript:alert(1)"]},
                           ["company_domains", "company_domains[1]"]),
    "domain with port and user": ({**SEED_BODY, "company_domains": ["user@stripe.com:8443"]}, ["company_domains"]),
    "ip address": ({**SEED_BODY, "company_domains": ["127.0.0.1"]}, ["company_domains"]),
    "huge domain": ({**SEED_BODY, "company_domains": ["a" * 100_000 + ".com"]}, ["company_domains"]),
    "depth unknown": ({**SEED_BODY, "search_depth": "deep"}, ["search_depth"]),
    "depth object (the seed's placeholder)": ({**SEED_BODY, "search_depth": {}}, ["search_depth"]),
    "parallel 4": ({**SEED_BODY, "max_parallel_searches": 4}, ["max_parallel_searches"]),
    "parallel 51": ({**SEED_BODY, "max_parallel_searches": 51}, ["max_parallel_searches"]),
    "parallel string": ({**SEED_BODY, "max_parallel_searches": "20"}, ["max_parallel_searches"]),
    "parallel fraction": ({**SEED_BODY, "max_parallel_searches": 7.5}, ["max_parallel_searches"]),
    "parallel bool": ({**SEED_BODY, "max_parallel_searches": True}, ["max_parallel_searches"]),
    "threshold 1.5": ({**SEED_BODY, "confidence_threshold": 1.5}, ["confidence_threshold"]),
    "threshold negative": ({**SEED_BODY, "confidence_threshold": -0.1}, ["confidence_threshold"]),
    "threshold string": ({**SEED_BODY, "confidence_threshold": "0.7"}, ["confidence_threshold"]),
    "threshold null": ({**SEED_BODY, "confidence_threshold": None}, ["confidence_threshold"]),
    "several at once": ({**SEED_BODY, "research_goal": "", "search_depth": "x", "max_parallel_searches": 0},
                        ["research_goal", "search_depth", "max_parallel_searches"]),
}


@pytest.mark.parametrize("path", ["/research/batch/stream", "/research/batch"])
def test_bad_bodies_get_422_naming_each_field_and_start_nothing(path):
    before = sim_last_seq()
    for name, (body, fields) in BAD_BODIES.items():
        response = requests.post(url(path), json=body, verify=False, timeout=10)
        assert response.status_code == 422, name
        assert response.headers["Content-Type"].startswith("application/json"), name
        error = response.json()["error"]
        assert error["code"] == "validation_failed", name
        assert set(fields) <= set(error["fields"]), (name, error["fields"])
        assert all(f.split("[")[0] in BAD_BODIES["missing everything"][1] for f in error["fields"]), name
    for raw in [b"{", b"[]", b'"text"', b"null", b"\xff\xfe"]:
        response = requests.post(url(path), data=raw, headers={"Content-Type": "application/json"},
                                 verify=False, timeout=10)
        assert response.status_code == 422 and "body" in response.json()["error"]["fields"], raw
    time.sleep(1.5)
    assert sim_requests_since(before, "/v1/tasks/groups") == []


def test_domains_are_normalised_and_deduplicated():
    body = {**SEED_BODY, "company_domains": ["HTTPS://Stripe.COM/pricing?x=1", "stripe.com", "paypal.com."]}
    response = post_stream(body)
    events = read_stream(response)
    assert payloads(events, "pipeline_start")[0]["domains"] == ["stripe.com", "paypal.com"]
    assert events[-1]["event"] == "completed"


def test_synchronous_endpoint_answers_once_finished():
    response = requests.post(url("/research/batch"), json=SEED_BODY, verify=False, timeout=60)
    assert response.status_code == 200
    document = response.json()
    assert document["status"] == "completed"
    assert [r["domain"] for r in document["results"]] == ["stripe.com", "paypal.com"]
    assert document["summary"]["domains_analyzed"] == 2
    assert set(document["metrics"]) == {"queries_per_second", "failed_requests"}


def test_a_failed_domain_run_is_counted_and_the_batch_completes():
    domains = ["stripe.com", "run-failed.sim.test", "paypal.com"]
    events = read_stream(post_stream({**SEED_BODY, "company_domains": domains}))
    complete = assert_complete(events, domains, 0.7)
    errors = payloads(events, "error")
    assert any(e["recoverable"] is True and "run-failed.sim.test" in e["message"] for e in errors)
    failed = [a for a in payloads(events, "domain_analyzed") if a["domain"] == "run-failed.sim.test"][0]
    assert failed["status"] == "failed" and failed["confidence"] == 0
    assert complete["summary"]["domains_analyzed"] == 2
    assert complete["metrics"]["failed_requests"] >= 1
    assert "run-failed.sim.test" not in [r["domain"] for r in complete["high_confidence_results"]]


def test_a_dropped_group_stream_is_resumed_and_counted():
    requests.delete(sim("/__sim/faults"), timeout=10)
    fault = {"endpoint": "group_events", "fault": "stream_drop;after=1", "count": 1}
    assert requests.post(sim("/__sim/faults"), json=fault, timeout=10).status_code < 300
    domains = ["stripe.com", "paypal.com", "adyen.com"]
    events = read_stream(post_stream({**SEED_BODY, "company_domains": domains}))
    complete = assert_complete(events, domains, 0.7)
    assert any(e["recoverable"] is True for e in payloads(events, "error"))
    assert complete["metrics"]["failed_requests"] >= 1
    assert complete["summary"]["domains_analyzed"] == 3
    assert requests.get(sim("/__sim/faults"), timeout=10).json().get("faults", []) == []


def test_killed_workers_lose_nothing_and_the_stream_resumes_exactly():
    domains = [f"company{i}.com" for i in range(30)]
    body = {**SEED_BODY, "company_domains": domains, "search_depth": "comprehensive", "max_parallel_searches": 5}
    response = post_stream(body)
    batch_id = response.headers["X-Batch-ID"]
    seen: list[dict] = []
    # chunk_size=1: requests would otherwise wait for 512 bytes before handing over a line.
    for event in iter_sse(response.iter_lines(chunk_size=1)):
        seen.append(event)
        if event["event"] == "evidence_progress":  # mid-batch: a quarter of the runs have finished
            break
    victims = worker_pids()
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    response.close()
    assert wait_for(lambda: len(worker_pids() - victims) >= 1, timeout=30)
    # A forked worker answers once its socket listens; until then nginx refuses (and skips the socket for 2 s).
    assert wait_for(lambda: requests.get(url("/healthz"), verify=False, timeout=5).status_code == 200, timeout=30)
    # The killed workers did not get to finish it: a new owner must take the batch over.
    status = requests.get(url(f"/research/batch/{batch_id}"), verify=False, timeout=10).json()["status"]
    assert status == "running"

    last = seen[-1]["id"]
    rest = get_events(batch_id, last_event_id=last, timeout=120)
    assert rest[0]["event"] == "connected" and rest[0]["id"] == last
    combined = seen + rest[1:]
    assert_complete(combined, domains, 0.7)
    # Exactly the stored stream: a fresh replay has the same events, ids and payloads.
    replay = get_events(batch_id)
    assert [(e["id"], e["event"], e["data"]) for e in replay[1:]] == \
        [(e["id"], e["event"], e["data"]) for e in combined[1:]]
    document = requests.get(url(f"/research/batch/{batch_id}"), verify=False, timeout=10).json()
    assert document["status"] == "completed"
    assert sorted(r["domain"] for r in document["results"]) == sorted(domains)
    assert all(r["status"] == "completed" for r in document["results"])
    # Runs were added in waves of at most five, and none twice (the successor adopted, not re-created).
    adds = [r for r in sim_requests_since(0, "/v1/tasks/groups/")
            if r["method"] == "POST" and r["path"].endswith("/runs") and batch_id in json.dumps(r["body"])]
    sizes = [len(r["body"]["inputs"]) for r in adds]
    assert sizes and max(sizes) <= 5
    positions = [i["metadata"]["pos"] for r in adds for i in r["body"]["inputs"]]
    assert sorted(positions) == list(range(len(domains)))


def test_unknown_batch_is_404_and_bad_last_event_id_is_400():
    assert requests.get(url("/research/batch/bat_doesnotexist000000"), verify=False, timeout=10).status_code == 404
    response = post_stream(SEED_BODY)
    batch_id = response.headers["X-Batch-ID"]
    read_stream(response)
    answer = requests.get(url(f"/research/batch/{batch_id}/events"), headers={"Last-Event-ID": "abc"},
                          verify=False, timeout=10)
    assert answer.status_code == 400


def test_batch_pages_show_results_and_downloads():
    response = post_stream(SEED_BODY)
    batch_id = response.headers["X-Batch-ID"]
    read_stream(response)
    page = requests.get(url(f"/batch/{batch_id}"), verify=False, timeout=10)
    assert page.status_code == 200 and "stripe.com" in page.text and "paypal.com" in page.text
    assert "/static/js/batch.js" in page.text and "<script>" not in page.text
    csv = requests.get(url(f"/batch/{batch_id}.csv"), verify=False, timeout=10)
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("domain,status,matches,confidence")
    assert len(csv.text.strip().splitlines()) == 3
    download = requests.get(url(f"/batch/{batch_id}.json"), verify=False, timeout=10)
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.json()["batch_id"] == batch_id
    form = requests.get(url("/batch"), verify=False, timeout=10)
    assert form.status_code == 200 and 'action="/batch"' in form.text


def test_batch_form_posts_create_a_batch_or_show_each_problem():
    session = requests.Session()
    form = session.get(url("/batch"), verify=False, timeout=10)
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    bad = session.post(url("/batch"), data={"csrf_token": token, "research_goal": "", "company_domains":
                                            "stripe.com\njavascript:alert(1)", "search_depth": "standard",
                                            "max_parallel_searches": "99", "confidence_threshold": "0.7"},
                       allow_redirects=False, verify=False, timeout=10)
    assert bad.status_code == 422
    assert "javascript:alert(1)" in bad.text and "<script" not in bad.text.split("</header>", 1)[1].split("<footer", 1)[0]
    assert bad.text.count('class="field-error"') == 3
    good = session.post(url("/batch"), data={"csrf_token": token, "research_goal": "AI fraud detection",
                                             "company_domains": "stripe.com\npaypal.com", "search_depth": "quick",
                                             "max_parallel_searches": "5", "confidence_threshold": "0.5"},
                        allow_redirects=False, verify=False, timeout=10)
    assert good.status_code == 303 and good.headers["Location"].startswith("/batch/bat_")
    batch_id = good.headers["Location"].rsplit("/", 1)[1]
    get_events(batch_id)
    page = session.get(url(good.headers["Location"]), verify=False, timeout=10)
    assert page.status_code == 200 and "quick" in page.text and "base" in page.text
    assert requests.post(url("/batch"), data={"research_goal": "x"}, verify=False, timeout=10).status_code == 403
