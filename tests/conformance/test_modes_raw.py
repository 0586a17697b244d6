"""Configuration switches (second simulator process) and smaller protocol details."""

import pytest
import requests

from conftest import API_KEY, own_sim
from test_faults_raw import sse_events


@pytest.fixture(scope="module")
def strict_sim():
    for urls in own_sim("--time-scale", "0.01", "--strict-beta", "--validation-errors", "canonical", "--retry-after", "off"):
        yield urls["parallel"]


def test_strict_beta_and_canonical_422_and_no_retry_after(strict_sim):
    h = {"x-api-key": API_KEY}
    body = {"input": "x", "processor": "lite", "webhook": {"url": "http://127.0.0.1:9/x", "event_types": ["task_run.status"]}}
    r = requests.post(strict_sim + "/v1/tasks/runs", json=body, headers=h)
    assert r.status_code == 422 and r.json()["type"] == "error" and "webhook-2025-08-12" in r.json()["error"]["message"]
    r = requests.post(strict_sim + "/v1/tasks/runs", json=body, headers={**h, "parallel-beta": "events-sse-2025-07-24,webhook-2025-08-12"})
    assert r.status_code == 202
    r = requests.post(strict_sim + "/v1/tasks/runs", json={"input": "x", "processor": "lite"}, headers={**h, "X-Sim-Fault": "429"})
    assert r.status_code == 429 and "retry-after" not in r.headers


def test_422_shapes_and_limits(sim):
    # Single-run endpoints: the OpenAPI's ErrorResponse, with its message first.
    r = requests.post(sim.url + "/v1/tasks/runs", json={"input": "x"}, headers=sim.headers())
    error = r.json()["error"]
    assert r.status_code == 422 and r.json()["type"] == "error" and error["ref_id"]
    assert error["message"].startswith("Unprocessable content: request validation error")
    assert error["detail"]["loc"] == ["body", "processor"]
    run = sim.create_run()
    r = requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/result?timeout=soon", headers=sim.headers())
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("Unprocessable content")
    r = requests.post(sim.url + "/v1/tasks/runs", json={"input": "x" * 24000, "processor": "core", "task_spec": {
        "output_schema": {"type": "text", "description": "y" * 2000}}}, headers=sim.headers())
    assert r.status_code == 422
    r = requests.post(sim.url + "/v1/tasks/runs", json={"input": "x", "processor": "lite", "metadata": {"k" * 17: "v"}},
                      headers=sim.headers())
    assert r.status_code == 422


def test_lite_without_events_sends_stats_only(sim):
    run = sim.create_run(processor="lite")
    with requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/events", stream=True, headers=sim.headers()) as r:
        types = [e["type"] for e in sse_events(r)]
    assert "task_run.progress_stats" in types
    assert not any(t.startswith("task_run.progress_msg") for t in types)


def test_group_timeout_and_status_filter(sim):
    g = requests.post(sim.url + "/v1/tasks/groups", json={}, headers=sim.headers()).json()
    gid = g["taskgroup_id"]
    added = requests.post(f"{sim.url}/v1beta/tasks/groups/{gid}/runs",
                          json={"inputs": [{"input": "a", "processor": "ultra8x"}, {"input": "b", "processor": "lite"}]},
                          headers=sim.headers()).json()
    assert added["event_cursor"] is None and added["run_cursor"] is None
    with requests.get(f"{sim.url}/v1/tasks/groups/{gid}/events?timeout=5", stream=True, headers=sim.headers()) as r:
        evs = sse_events(r)
    assert evs[0]["type"] == "task_group_status"
    st = requests.get(f"{sim.url}/v1/tasks/groups/{gid}", headers=sim.headers()).json()
    assert st["status"]["is_active"] is True
    with requests.get(f"{sim.url}/v1/tasks/groups/{gid}/runs?status=completed", stream=True, headers=sim.headers()) as r:
        runs = sse_events(r)
    assert [e["run"]["processor"] for e in runs] == ["lite"] and runs[0]["input"] is None and runs[0]["output"] is None
    more = requests.post(f"{sim.url}/v1/tasks/groups/{gid}/runs", json={"inputs": [{"input": "c", "processor": "lite"}]},
                         headers=sim.headers()).json()
    assert more["event_cursor"] and more["run_cursor"] == "2"
    too_many = requests.post(f"{sim.url}/v1/tasks/groups/{gid}/runs",
                             json={"inputs": [{"input": "c", "processor": "lite"}] * 1001}, headers=sim.headers())
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "inputs"], \
        "group endpoints keep FastAPI's HTTPValidationError, as the OpenAPI lists for them"


def test_chat_accepts_x_api_key(sim):
    r = requests.post(sim.url + "/chat/completions", headers={"x-api-key": API_KEY},
                      json={"model": "speed", "messages": [{"role": "user", "content": "Industry: sim:hostile robotics"}]})
    assert r.status_code == 200 and "<script>alert(1)</script>" in r.json()["choices"][0]["message"]["content"]
