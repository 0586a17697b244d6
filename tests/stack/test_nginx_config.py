"""The nginx configuration renderer: valid for this nginx, right HTTP/2 syntax for old and new nginx,
one upstream server per worker, and the locations that make streams and limits work."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT


def render(tmp_path: Path, *extra: str, workers: int = 3) -> str:
    tls = tmp_path / "tls"
    subprocess.run(["bash", str(ROOT / "scripts/cert.sh"), str(tls)], check=True, capture_output=True)
    (tmp_path / "logs").mkdir(exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "scripts/render-nginx.py"), "--prefix", str(tmp_path / "nginx"),
                    "--root", str(ROOT), "--log-dir", str(tmp_path / "logs"), "--socket-dir", str(tmp_path / "sock"),
                    "--workers", str(workers), "--https-port", "9443", "--http-port", "9080",
                    "--cert", str(tls / "cert.pem"), "--key", str(tls / "key.pem"), "--listen", "127.0.0.1", *extra],
                   check=True, capture_output=True)
    return (tmp_path / "nginx/nginx.conf").read_text()


def location(conf: str, head: str) -> str:
    return conf.split(head, 1)[1].split("\n        }", 1)[0]


def test_rendered_config_passes_nginx_t(tmp_path):
    render(tmp_path)
    check = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path / "nginx"), "-c", str(tmp_path / "nginx/nginx.conf"),
                            "-e", str(tmp_path / "logs/error.log")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_every_placeholder_is_filled(tmp_path):
    render(tmp_path)
    for path in (tmp_path / "nginx").rglob("*.conf"):
        assert not re.search(r"\$\{[A-Z_]+\}", path.read_text()), path


def test_one_upstream_server_per_worker_socket(tmp_path):
    conf = render(tmp_path, workers=3)
    servers = re.findall(r"server unix:(\S+?)\s", conf)
    assert servers == [f"{tmp_path}/sock/worker-{i}.sock" for i in range(3)]


@pytest.mark.parametrize(("version", "listen", "directive"), [
    ("1.22.1", "listen 127.0.0.1:9443 ssl http2;", False),
    ("1.25.3", "listen 127.0.0.1:9443 ssl;", True),
])
def test_http2_syntax_follows_the_nginx_version(tmp_path, version, listen, directive):
    conf = render(tmp_path, "--nginx-version", version)
    assert listen in conf
    assert ("http2 on;" in conf) == directive


def test_streams_are_unbuffered_with_long_timeouts(tmp_path):
    render(tmp_path)
    conf = (tmp_path / "nginx/nginx.conf").read_text()
    sse = (tmp_path / "nginx/snippets/sse.conf").read_text()
    assert "fastcgi_buffering off;" in sse and "gzip off;" in sse and "fastcgi_read_timeout 1h;" in sse
    for head in ("location ~ ^/(api/v1/)?reports/[^/]+/events$", "location ~ ^/research/batch(/stream|/[^/]+/events)?$",
                 "location ^~ /console/api/"):
        assert "snippets/sse.conf;" in location(conf, head), head
    assert "snippets/sse.conf" not in location(conf, "location / {")


def test_keep_conn_off_body_limit_and_request_id(tmp_path):
    conf = render(tmp_path)
    fastcgi = (tmp_path / "nginx/snippets/fastcgi.conf").read_text()
    assert "fastcgi_keep_conn off;" in conf
    assert "client_max_body_size 1m;" in conf
    assert "fastcgi_next_upstream error timeout;" in conf
    assert re.search(r"fastcgi_param\s+REQUEST_ID\s+\$request_id;", fastcgi)
    assert re.search(r"fastcgi_param\s+HTTPS\s+on;", fastcgi)


def test_real_ip_only_from_configured_proxies(tmp_path, monkeypatch):
    assert "set_real_ip_from" not in render(tmp_path)
    monkeypatch.setenv("REAL_IP_FROM", "10.0.0.0/8, 192.0.2.7")
    conf = render(tmp_path / "proxied")
    assert "set_real_ip_from 10.0.0.0/8;" in conf and "set_real_ip_from 192.0.2.7;" in conf


def test_the_page_cache_lives_in_the_run_dir_and_covers_only_the_listed_pages(tmp_path):
    conf = render(tmp_path)
    assert f"fastcgi_cache_path {tmp_path}/nginx/cache/pages " in conf
    assert (tmp_path / "nginx/cache/pages").is_dir()
    cached = [head for head in re.findall(r"\n        location ([^{]+)\{", conf)
              if "page_cache.conf" in location(conf, f"location {head}{{")]
    assert [c.strip() for c in cached] == ["= /", "= /library", r"~ ^/r/[^/]+$", r"~ ^/r/[^/]+/compare/[^/]+$",
                                           r"~ ^/(api/v1/)?openapi\.(json|yaml)$"]
    snippet = (tmp_path / "nginx/snippets/page_cache.conf").read_text()
    assert "fastcgi_cache_bypass $page_cache_skip;" in snippet
    assert "fastcgi_no_cache $page_cache_skip $page_cache_refused;" in snippet
    assert "fastcgi_cache_use_stale updating;" in snippet and "background_update" not in snippet.replace(
        "No background update", "")
