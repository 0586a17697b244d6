"""Privacy and safety through nginx with real curl (issue 12): hidden reports are gone from every public route,
unlisted reports stay out of shared caches, report Markdown links only to http(s), the worker sockets admit only
nginx's group, and the local PostgreSQL cluster trusts nobody without a password."""
from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import time
import urllib.parse
import uuid

import pytest

from .helpers import curl, run_dir
from .live_helpers import make_report
from .report_flow_helpers import psql, url


CONTENT = """# Quillwork Market Research Report

## Links

Write to [the analyst](mailto:analyst@example.com) or ops@example.com, see [our form](/reports/quill-relative),
[the top](#links), [a mirror](//mirror.example.net/q), [a script](javascript:alert(1)) and
[the source](https://quill.example.org/study).
"""


def insert_completed(visibility: str) -> dict:
    token = uuid.uuid4().hex[:10]
    public_id, slug = f"rpt_priv{token}", f"quillwork-{token}"
    psql("""
        INSERT INTO reports (public_id, title, slug, industry, processor, status, content, visibility,
                             started_at, completed_at)
        VALUES (:'id', 'Quillwork Market Research Report', :'slug', 'Quillwork', 'ultra2x', 'completed',
                :'content', :'visibility', now(), now());
        """, id=public_id, slug=slug, content=CONTENT, visibility=visibility)
    return {"id": public_id, "slug": slug}


# ---------------------------------------------------------------- hidden reports


def test_a_hidden_report_is_404_on_its_page_stream_and_api(stack):
    _, running_id = make_report()
    done = insert_completed("public")
    paths = [f"/reports/{running_id}", f"/reports/{running_id}/events", f"/api/v1/reports/{running_id}/events",
             f"/api/v1/reports/{running_id}", f"/r/{done['slug']}", f"/r/{done['slug']}.md"]
    assert curl(url(f"/reports/{running_id}")).status == 200
    assert curl(url(f"/r/{done['slug']}")).status == 200
    psql("UPDATE reports SET hidden = true WHERE public_id IN (:'a', :'b');", a=running_id, b=done["id"])
    hidden_at = time.monotonic()
    for path in paths:
        if path.startswith("/r/"):
            # nginx's page cache may keep the public page until the end of its second (issue 17): at most 1 s.
            time.sleep(max(0.0, hidden_at + 1.0 - time.monotonic()))
        reply = curl(url(path), "--max-time", "5")
        assert reply.status == 404, (path, reply.status, reply.text[:200])
        assert "Quillwork" not in reply.text and "Cold-chain" not in reply.text, path
    # The stream's 404 is the same JSON error as for an id that never existed.
    hidden = curl(url(f"/reports/{running_id}/events"))
    missing = curl(url("/reports/rpt_neverexisted000/events"))
    assert json.loads(hidden.text) == json.loads(missing.text)
    assert hidden.headers.get("content-type") == missing.headers.get("content-type")


# ---------------------------------------------------------------- caching of unlisted reports


@pytest.mark.parametrize("suffix", ["", ".md"])
def test_unlisted_report_pages_are_private_to_the_browser(stack, suffix):
    public, unlisted = insert_completed("public"), insert_completed("unlisted")
    shared = curl(url(f"/r/{public['slug']}{suffix}"))
    assert shared.status == 200 and shared.headers.get("cache-control") == "public, max-age=300"
    mine = curl(url(f"/r/{unlisted['slug']}{suffix}"))
    assert mine.status == 200
    assert mine.headers.get("cache-control") == "private, max-age=300"
    # A revalidation says the same.
    again = curl(url(f"/r/{unlisted['slug']}{suffix}"), "-H", f"If-None-Match: {mine.headers['etag']}")
    assert again.status == 304 and again.headers.get("cache-control") == "private, max-age=300"


# ---------------------------------------------------------------- links in reports


def test_report_markdown_links_only_to_http_sites(stack):
    report = insert_completed("public")
    html = curl(url(f"/r/{report['slug']}")).text
    body = html[html.index('id="links"'):]
    body = body[:body.index("</p>")]
    hrefs = re.findall(r'href="([^"]*)"', body)
    assert hrefs == ["https://quill.example.org/study"], hrefs
    for text in ("the analyst", "ops@example.com", "our form", "the top", "a mirror", "a script", "the source"):
        assert text in body, text
    for href in ("mailto:", "javascript:", "/reports/quill-relative", "//mirror"):
        assert f'href="{href}' not in html, href


# ---------------------------------------------------------------- worker sockets


def nginx_worker_user() -> str:
    conf = (run_dir() / "nginx" / "nginx.conf").read_text()
    found = re.search(r"^\s*user\s+([^;\s]+)", conf, re.MULTILINE)
    return found.group(1) if found else pwd.getpwuid(os.getuid()).pw_name


def test_worker_sockets_admit_only_their_owner_and_nginx_group(stack):
    sockets = sorted((run_dir() / "sock").glob("worker-*.sock"))
    assert sockets, "no worker sockets"
    nginx_group = grp.getgrgid(pwd.getpwnam(nginx_worker_user()).pw_gid).gr_name
    for path in sockets:
        info = path.stat()
        assert stat.S_ISSOCK(info.st_mode)
        assert stat.S_IMODE(info.st_mode) == 0o660, oct(info.st_mode)
        if nginx_worker_user() != "root" and os.getuid() == 0:
            assert grp.getgrgid(info.st_gid).gr_name == nginx_group
    # nginx's workers get through (this very request), and a local user outside the group does not.
    assert curl(url("/healthz")).status == 200
    if os.getuid() != 0 or not shutil.which("runuser"):
        pytest.skip("checking another user's access needs root")
    outsider = "nobody"
    probe = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
             "try:\n s.connect(sys.argv[1]); print('connected')\nexcept PermissionError: print('refused')\n")
    for path in sockets:
        out = subprocess.run(["runuser", "-u", outsider, "--", "python3", "-c", probe, str(path)],
                             capture_output=True, text=True, timeout=10)
        assert out.stdout.strip() == "refused", (path, out.stdout, out.stderr)


# ---------------------------------------------------------------- local PostgreSQL


def test_the_local_cluster_trusts_no_one_without_a_password(stack):
    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    if parts.hostname != "127.0.0.1" or not parts.password:
        pytest.skip("the stack does not use its own local cluster")
    # The app's URL works, as a role that is not a superuser.
    assert psql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user;") == "f"
    socket_dir = str(run_dir() / "data" / "postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    attempts = [("127.0.0.1", "postgres"), ("127.0.0.1", "marketlens"), (socket_dir, "postgres"),
                (socket_dir, "marketlens")]
    for host, user in attempts:
        out = subprocess.run(["psql", "-X", "-w", "-h", host, "-p", str(parts.port), "-U", user, "-d", "marketlens",
                              "-Atc", "SELECT 1"], capture_output=True, text=True, env=env, timeout=15)
        assert out.returncode != 0 and out.stdout.strip() != "1", (host, user, out.stdout)
        assert "password" in out.stderr, (host, user, out.stderr)
    wrong = parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port}").geturl()
    out = subprocess.run(["psql", wrong, "-X", "-w", "-Atc", "SELECT 1"], capture_output=True, text=True, env=env,
                         timeout=15)
    assert out.returncode != 0 and "password authentication failed" in out.stderr
    hba = run_dir() / "data" / "postgres" / "pg_hba.conf"
    if hba.exists() and os.access(hba, os.R_OK):
        rules = [line.split() for line in hba.read_text().splitlines() if line.strip() and not line.startswith("#")]
        assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), rules
