"""The API's OpenAPI document (api/openapi.json) through nginx: served as the repository's file, cacheable,
valid OpenAPI 3.1, true to seed 001 — and schemathesis holding the live API to it (no 5xx, every status, content
type and body as documented, streams included)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from .helpers import ROOT, curl
from .live_helpers import psql

DOCUMENT = ROOT / "api/openapi.json"

pytestmark = pytest.mark.usefixtures("stack")


def url(path: str) -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/") + path


def served() -> dict:
    reply = curl(url("/api/v1/openapi.json"))
    assert reply.status == 200
    return json.loads(reply.body)


def test_document_is_the_repository_file_served_as_cacheable_json():
    reply = curl(url("/api/v1/openapi.json"))
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.body == DOCUMENT.read_bytes()
    assert "public" in reply.headers["cache-control"] and "max-age=" in reply.headers["cache-control"]
    etag = reply.headers["etag"]
    # nginx's page cache keeps it (up to a second): a second request in the same second is answered by nginx.
    again = [curl(url("/api/v1/openapi.json")).headers.get("x-cache-status") for _ in range(3)]
    assert "HIT" in again or "UPDATING" in again, again
    revalidated = curl(url("/api/v1/openapi.json"), "-H", f"If-None-Match: {etag}")
    assert revalidated.status == 304 and revalidated.body == b""


def test_document_is_valid_openapi_3_1():
    document = served()
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_a_broken_document_is_refused_by_the_validator():
    # The validator test can fail: the same document with a parameter that says not where it goes is rejected.
    document = json.loads(DOCUMENT.read_text())
    del document["components"]["parameters"]["ReportID"]["in"]
    with pytest.raises(Exception):
        validate(document, cls=OpenAPIV31SpecValidator)


# Seed 001's events and the fields of each event's payload, as the seed lists them.
SEED_001_EVENTS = {
    "connected": ["message", "timestamp"],
    "heartbeat": ["timestamp", "message"],
    "disconnected": ["message", "timestamp"],
    "pipeline_start": ["type", "message", "domains", "total_strategies", "timestamp"],
    "evidence_progress": ["type", "progress", "completed", "total", "domains_with_evidence", "timestamp"],
    "evidence_complete": ["type", "message", "total_evidence", "domains_with_evidence", "timestamp"],
    "analysis_start": ["type", "message", "domains_to_analyze", "timestamp"],
    "domain_analyzed": ["type", "domain", "confidence", "evidence_count", "technologies", "progress", "total",
                        "timestamp"],
    "pipeline_complete": ["type", "message", "summary", "results", "high_confidence_results", "metrics",
                          "timestamp"],
    "completed": ["message", "total_events", "timestamp"],
    "error": ["message", "recoverable", "timestamp"],
    "stream_error": ["message", "error", "timestamp"],
}
SEED_001_HEADERS = {"Cache-Control", "Connection", "Access-Control-Allow-Origin", "X-Accel-Buffering"}
SEED_001_BODY = ["research_goal", "company_domains", "search_depth", "max_parallel_searches", "confidence_threshold"]


def resolve(document: dict, node: dict) -> dict:
    """`node`, or what its local `$ref` points at."""
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_batch_stream_is_described_exactly_as_seed_001():
    document = served()
    operation = document["paths"]["/research/batch/stream"]["post"]
    body = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body["required"] == SEED_001_BODY
    assert body["properties"]["search_depth"]["enum"] == ["quick", "standard", "comprehensive"]
    assert (body["properties"]["max_parallel_searches"]["minimum"], body["properties"]["max_parallel_searches"]["maximum"]) == (5, 50)
    ok = operation["responses"]["200"]
    assert SEED_001_HEADERS <= set(ok["headers"])
    event = ok["content"]["text/event-stream"]["schema"]
    described = {}
    for choice in event["oneOf"]:
        payload = resolve(document, choice["properties"]["data"]["contentSchema"])
        described[choice["properties"]["event"]["const"]] = payload["required"]
    assert described == SEED_001_EVENTS
    # The replay route streams the same events.
    replay = document["paths"]["/research/batch/{id}/events"]["get"]["responses"]["200"]
    assert replay["content"]["text/event-stream"]["schema"]["oneOf"] == event["oneOf"]


def test_every_api_key_route_documents_the_bearer_key_and_its_401():
    document = served()
    for path, item in document["paths"].items():
        if not (path.startswith("/api/v1/") or path.startswith("/research/batch")):
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "401" in operation["responses"], f"{method.upper()} {path}"
            schemes = {name for requirement in operation["security"] for name in requirement}
            assert schemes & {"apiKey", "manageToken"}, f"{method.upper()} {path}"
    assert document["components"]["securitySchemes"]["apiKey"] == {
        **document["components"]["securitySchemes"]["apiKey"], "type": "http", "scheme": "bearer"}


def test_schemathesis_finds_the_live_api_true_to_its_document(tmp_path):
    """A few hundred generated requests through nginx (examples, coverage, fuzzing and the stateful links
    create → get → events); fails on any 5xx, undocumented status, wrong content type or body off its schema."""
    report = tmp_path / "schemathesis.ndjson"
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(ROOT / "tests/stack/schemathesis.toml"),
           "run", url("/api/v1/openapi.json"), "--url", url(""), "--tls-verify", "false",
           "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
           "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"),
           "--seed", os.environ.get("SCHEMATHESIS_SEED", "14"), "--workers", "1", "--generation-database", "none",
           "--report", "ndjson", "--report-ndjson-path", str(report), "--no-color"]
    since = psql("SELECT now()")
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    elapsed = time.monotonic() - started
    # One worker: hypothesis' lambda descriptions break under concurrent ast.parse on Python 3.11.
    print(proc.stdout[-20000:], proc.stderr[-4000:], f"schemathesis took {elapsed:.0f} s", sep="\n")
    assert proc.returncode == 0, proc.stdout[-8000:]
    counted = re.search(r"(\d+) generated, (\d+) passed", proc.stdout)
    assert counted and counted.group(1) == counted.group(2), proc.stdout[-4000:]
    # Bounded, yet every operation had a few hundred requests in all.
    assert 150 <= int(counted.group(1)) <= 1500
    assert re.search(r"Tested: (1[5-9]|[2-9]\d)\b", proc.stdout), proc.stdout[-4000:]
    # The reports and batches it started run to their end (and stop loading the stack before the next tests).
    active = "SELECT (SELECT count(*) FROM reports WHERE status IN ('queued', 'running') AND created_at >= '{0}') " \
             "+ (SELECT count(*) FROM batches WHERE status IN ('queued', 'running') AND created_at >= '{0}')"
    deadline = time.monotonic() + 180
    while int(psql(active.format(since))) and time.monotonic() < deadline:
        time.sleep(2)
    assert psql(active.format(since)) == "0", "runs started by the fuzzer did not finish"
