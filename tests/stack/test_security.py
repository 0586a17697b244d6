"""Security headers, body limits and hostile input: a clear 4xx, never a broken worker."""
from __future__ import annotations

import os

import pytest

from .helpers import curl, worker_pids

EXPECTED_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


def url(path: str) -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/") + path


@pytest.mark.parametrize("path", ["/", "/static/css/app.css", "/no-such-page", "/healthz"])
def test_security_headers_on_every_kind_of_response(path):
    headers = curl(url(path)).headers
    assert headers.get("content-security-policy") == EXPECTED_CSP
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("strict-transport-security", "").startswith("max-age=")
    assert headers.get("server") == "nginx"  # server_tokens off: no version


def test_request_id_is_returned_to_the_client():
    assert len(curl(url("/healthz")).headers.get("x-request-id", "")) == 32


@pytest.mark.parametrize("path", ["/reports", "/api/v1/reports"])
def test_body_over_the_limit_is_refused_with_413(path, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b"x" * (1024 * 1024 + 4096))
    reply = curl(url(path), "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", f"@{big}")
    assert reply.status == 413
    assert curl(url("/healthz")).status == 200


@pytest.mark.parametrize("query", ["q=%G1", "q=%FF", "q=%C3%28", "q=%", "q=abc%2"])
def test_bad_percent_encoding_or_utf8_in_the_query_is_a_400(query):
    before = worker_pids()
    reply = curl(url("/?" + query))
    assert reply.status == 400
    assert curl(url("/")).status == 200
    assert worker_pids() == before


def test_bad_percent_encoding_in_the_path_is_a_400():
    assert curl(url("/%G1")).status == 400
    assert curl(url("/healthz")).status == 200
