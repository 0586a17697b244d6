"""Fault injection, raw SSE framing and the control API, with plain `requests`."""
import json
import socket
import time
from urllib.parse import urlparse

import pytest
import requests

from conftest import API_KEY, wait_until


def sse_events(resp):
    """Minimal SSE parser (handles CRLF, comments, split lines); returns parsed data objects or raw strings."""
    out, data = [], []
    for raw in resp.iter_lines(decode_unicode=True):
        line = raw.rstrip("\r")
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    out.append(json.loads(text))
                except ValueError:
                    out.append(text)
                data = []
            continue
        if line.startswith(":"):
            continue
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    return out


def test_429_with_retry_after(sim):
    sim.fault("create", "429", count=2, retry_after="3")
    for _ in range(2):
        r = requests.post(sim.url + "/v1/tasks/runs", json={"input": "x", "processor": "lite"}, headers=sim.headers())
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
        assert r.json()["type"] == "error" and r.json()["error"]["ref_id"]
    assert requests.post(sim.url + "/v1/tasks/runs", json={"input": "x", "processor": "lite"},
                         headers=sim.headers()).status_code == 202


def test_5xx_html_and_empty_bodies(sim):
    r = requests.get(sim.url + "/v1/tasks/runs/trun_x", headers=sim.headers({"X-Sim-Fault": "5xx;status=503;body=html"}))
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html") and "<html>" in r.text
    r = requests.get(sim.url + "/v1/tasks/runs/trun_x", headers=sim.headers({"X-Sim-Fault": "502;body=empty"}))
    assert r.status_code == 502 and r.text == ""
    r = requests.get(sim.url + "/v1/tasks/runs/trun_x", headers=sim.headers({"X-Sim-Fault": "500"}))
    assert r.status_code == 500 and r.json()["error"]["message"]


def test_auth_faults_and_missing_key(sim):
    r = requests.post(sim.url + "/v1/tasks/runs", json={"input": "x", "processor": "lite"},
                      headers=sim.headers({"X-Sim-Fault": "auth"}))
    assert r.status_code == 402
    r = requests.get(sim.url + "/v1/tasks/runs/trun_x", headers={"X-Sim-Fault": "auth"})
    assert r.status_code == 401 and r.json()["error"]["message"]


def test_result_408_404_and_result_slow(sim):
    run = sim.create_run(processor="ultra8x")
    r = requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/result?timeout=1", headers=sim.headers())
    assert r.status_code == 408 and r.json()["error"]["message"]
    failed = sim.create_run(metadata={"sim_fault": "run_failed"})
    r = requests.get(f"{sim.url}/v1/tasks/runs/{failed['run_id']}/result", headers=sim.headers())
    assert r.status_code == 404
    run = requests.get(f"{sim.url}/v1/tasks/runs/{failed['run_id']}", headers=sim.headers()).json()
    assert run["status"] == "failed" and run["error"]["ref_id"] and run["is_active"] is False
    slow = sim.create_run(metadata={"sim_fault": "result_slow;times=2"})
    codes = [requests.get(f"{sim.url}/v1/tasks/runs/{slow['run_id']}/result?timeout=5", headers=sim.headers()).status_code
             for _ in range(3)]
    assert codes == [408, 408, 200]


def test_create_timeout_creates_then_stalls(sim):
    before = sim.control("GET", "/health")["runs"]
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(sim.url + "/v1/tasks/runs", json={"input": "x", "processor": "lite"},
                      headers=sim.headers({"X-Sim-Fault": "create_timeout;seconds=2"}), timeout=0.5)
    assert sim.control("GET", "/health")["runs"] == before + 1


def test_v1beta_events_framing(sim):
    run = sim.create_run(processor="pro")
    with requests.get(f"{sim.url}/v1beta/tasks/runs/{run['run_id']}/events", stream=True,
                      headers=sim.headers({"parallel-beta": "events-sse-2025-07-24"})) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        raw = r.raw.read().decode()
    blocks = [b for b in raw.split("\n\n") if b]
    for b in blocks:
        lines = b.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: ")
        assert json.loads(lines[1][6:])["type"] == lines[0][7:]
    assert "id:" not in raw and "[DONE]" not in raw


def test_stream_drop_close_and_rst(sim):
    run = sim.create_run(processor="pro")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True,
                          headers=sim.headers({"X-Sim-Fault": "stream_drop;after=3"})) as r:
            for _ in r.iter_content(64):
                pass
    sim.fault("events", "stream_drop", after="2", mode="rst")
    with pytest.raises(requests.exceptions.RequestException):
        with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True, headers=sim.headers()) as r:
            for _ in r.iter_content(64):
                pass


def test_stream_stall_hits_client_read_timeout(sim):
    run = sim.create_run(processor="pro")
    with pytest.raises(requests.exceptions.ConnectionError):
        with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True, timeout=(2, 0.5),
                          headers=sim.headers({"X-Sim-Fault": "stream_stall;after=1;seconds=3"})) as r:
            for _ in r.iter_content(64):
                pass


def test_malformed_event_variants(sim):
    run = sim.create_run(processor="pro", metadata={"sim_fault": "malformed_event;variant=all"})
    with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True, headers=sim.headers()) as r:
        raw = r.raw.read()
    assert b"\r\n" in raw and b": sim comment" in raw
    text = raw.decode().replace("\r\n", "\n")
    datas = [l[6:] for l in text.split("\n") if l.startswith("data: ")]
    bad = [d for d in datas if not d.startswith("{") or not d.endswith("}")]
    assert bad, "an invalid JSON data line is present"
    parsed = [json.loads(d) for d in datas if d not in bad]
    assert any("type" not in p for p in parsed)
    assert any(p.get("type") == "task_run.mystery" for p in parsed)
    assert any(p.get("type") == "task_run.progress_msg.tool" for p in parsed)
    assert any(p.get("type") == "task_run.progress_msg.reasoning" for p in parsed)
    assert parsed[-1]["type"] == "task_run.state" and parsed[-1]["run"]["status"] == "completed"


def test_split_data_line_arrives_in_two_tcp_writes(sim):
    run = sim.create_run(processor="pro")
    u = urlparse(sim.url)
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(f"GET /v1/tasks/runs/{run['run_id']}/events HTTP/1.1\r\nHost: x\r\nx-api-key: {API_KEY}\r\n"
              f"X-Sim-Fault: malformed_event;variant=split\r\n\r\n".encode())
    s.settimeout(5)
    reads = []
    while True:
        b = s.recv(65536)
        if not b:
            break
        reads.append(b)
        if b.endswith(b"0\r\n\r\n"):
            break
    s.close()
    # A whole event write ends "\n\n" + chunk CRLF; a split first half ends mid-JSON.
    def split_mid_event(r):
        r = r[:-5] if r.endswith(b"0\r\n\r\n") else r
        return b"data: " in r and not r.endswith(b"\n\n\r\n")
    assert any(split_mid_event(r) for r in reads)


def test_stream_error_event_then_fail(sim):
    run = sim.create_run(processor="pro", metadata={"sim_fault": "stream_error_event;then=fail"})
    with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True, headers=sim.headers()) as r:
        evs = sse_events(r)
    types = [e["type"] for e in evs]
    assert "error" in types
    assert evs[-1]["run"]["status"] == "failed"


def test_early_close_570(sim):
    run = sim.create_run(processor="ultra8x")
    t0 = time.time()
    with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True,
                      headers=sim.headers({"X-Sim-Fault": "early_close_570;after=10"})) as r:
        evs = sse_events(r)
    assert time.time() - t0 < 0.6
    assert evs[0]["type"] == "task_run.state" and all(e["type"] != "task_run.state" for e in evs[1:])
    st = requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}", headers=sim.headers()).json()
    assert st["is_active"] is True


def test_control_cancel_complete_and_request_log(sim):
    seq = sim.control("GET", "/requests")["last_seq"]
    run = sim.create_run(processor="ultra8x")
    cancelled = sim.control("POST", f"/runs/{run['run_id']}/cancel")
    assert cancelled["status"] == "cancelled" and cancelled["is_active"] is False
    run2 = sim.create_run(processor="ultra8x")
    sim.control("POST", f"/runs/{run2['run_id']}/complete")
    r = requests.get(f"{sim.url}/v1/tasks/runs/{run2['run_id']}/result?timeout=1", headers=sim.headers())
    assert r.status_code == 200 and r.json()["output"]["content"]
    log = sim.control("GET", f"/requests?since={seq}&path=/v1/tasks/runs")["requests"]
    assert log[0]["method"] == "POST" and log[0]["body"]["processor"] == "ultra8x"
    key = log[0]["headers"]["x-api-key"]
    assert API_KEY not in key and key.startswith("redacted(")
    assert all(e["seq"] > seq for e in log)


def test_hostile_content(sim):
    run = sim.create_run(processor="pro", metadata={"sim_content": "hostile"}, task_spec={"output_schema": "report"})
    res = requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/result", headers=sim.headers()).json()
    md = res["output"]["content"]
    assert "<script>alert(1)</script>" in md and "onerror=alert(1)" in md and "javascript:alert(1)" in md
    cites = res["output"]["basis"][0]["citations"]
    assert any(c["url"].startswith("javascript:") for c in cites) and "<script>" in cites[0]["title"]
    with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True, headers=sim.headers()) as r:
        evs = sse_events(r)
    assert any("<svg onload" in e.get("message", "") for e in evs)


def test_deterministic_content(sim):
    spec = {"output_schema": {"type": "text"}}
    a = sim.create_run(input="Industry: drones\nRegion: Asia", processor="lite", task_spec=spec)
    b = sim.create_run(input="Industry: drones\nRegion: Asia", processor="lite", task_spec=spec)
    ra = requests.get(f"{sim.url}/v1/tasks/runs/{a['run_id']}/result", headers=sim.headers()).json()
    rb = requests.get(f"{sim.url}/v1/tasks/runs/{b['run_id']}/result", headers=sim.headers()).json()
    assert ra["output"]["content"] == rb["output"]["content"]
    assert "drones" in ra["output"]["content"] and "Asia" in ra["output"]["content"]
