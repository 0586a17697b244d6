"""What a visitor gets through nginx over HTTPS: pages, static files, redirects, health checks."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from .helpers import ROOT, curl

BASE = os.environ.get("MARKETLENS_URL", "https://localhost:8443/").rstrip("/")


def url(path: str) -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/") + path


def test_home_page_is_html_with_the_research_form():
    reply = curl(url("/"))
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert "<form" in reply.text.lower()
    assert "industry" in reply.text.lower()


def test_stylesheet_is_served_by_nginx_with_cache_headers():
    reply = curl(url("/static/css/app.css"))
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/css")
    assert reply.body == (ROOT / "static/css/app.css").read_bytes()
    cache = reply.headers.get("cache-control", "")
    assert "public" in cache and "max-age=" in cache
    assert "etag" in reply.headers and "last-modified" in reply.headers


def test_stylesheet_is_gzipped_when_asked():
    reply = curl(url("/static/css/app.css"), "-H", "Accept-Encoding: gzip")
    assert reply.status == 200
    assert reply.headers.get("content-encoding") == "gzip"
    assert len(reply.body) < (ROOT / "static/css/app.css").stat().st_size


def test_favicon_is_an_svg_image():
    reply = curl(url("/favicon.ico"))
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in reply.body


def test_unknown_page_is_the_apps_styled_404():
    reply = curl(url("/no/such/page-7f3a"))
    assert reply.status == 404
    assert reply.headers["content-type"].startswith("text/html")
    text = reply.text.lower()
    assert "<html" in text
    assert "/static/css/app.css" in text  # the site layout, not nginx's bare error page
    assert "nginx" not in text


def test_missing_static_file_gets_the_styled_404_too():
    reply = curl(url("/static/css/missing-9c1e.css"))
    assert reply.status == 404
    assert "/static/css/app.css" in reply.text


def test_healthz_answers_ok():
    reply = curl(url("/healthz"))
    assert reply.status == 200
    assert reply.text.strip().lower() == "ok"


def test_readyz_says_the_database_is_ready():
    reply = curl(url("/readyz"))
    assert reply.status == 200


def test_http_redirects_to_https_keeping_path_and_query():
    http_url = os.environ["MARKETLENS_HTTP_URL"].rstrip("/")
    reply = curl(http_url + "/library?q=solar%20panels&page=2")
    assert reply.status in (301, 308)
    location = urlsplit(reply.headers["location"])
    https = urlsplit(os.environ["MARKETLENS_URL"])
    assert location.scheme == "https"
    assert location.port == https.port
    assert location.path == "/library"
    assert location.query == "q=solar%20panels&page=2"


def test_https_follows_through_from_http():
    http_url = os.environ["MARKETLENS_HTTP_URL"].rstrip("/")
    reply = curl(http_url + "/healthz", "-L")
    assert reply.status == 200


def test_http2_is_negotiated():
    reply = curl(url("/healthz"), "--http2")
    assert reply.http_version == "2"


def test_metrics_are_served_to_loopback():
    reply = curl(url("/metrics"))
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain")


def test_metrics_are_refused_to_anyone_else_by_the_config():
    conf = (ROOT / os.environ["MARKETLENS_RUN_DIR"] / "nginx/nginx.conf").read_text()
    block = conf.split("location = /metrics", 1)[1].split("}", 1)[0]
    assert "allow 127.0.0.1;" in block and "allow ::1;" in block and "deny all;" in block
