"""`marketlens export` and `marketlens import` through the real CLI and a second real database: what an operator
moving a library to a new server notices. A report's versions arrive as one family with their numbers, their
events come along, e-mail addresses do not, and importing twice changes nothing."""
from __future__ import annotations

import json
import os
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest

from .report_flow_helpers import psql, word

pytestmark = pytest.mark.usefixtures("stack")


def cli(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    proc = subprocess.run([os.environ["MARKETLENS_BIN"], *args], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, f"marketlens {args[0]}: {proc.stderr[-2000:]}"
    return proc


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def query(url: str, sql: str) -> str:
    proc = subprocess.run(["psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"], input=sql,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def second_database():
    source = os.environ["DATABASE_URL"]
    name = f"ml_archive_{word(8)}"
    psql(f"CREATE DATABASE {name};")
    target = with_database(source, name)
    try:
        cli("migrate", database_url=target)
        yield target
    finally:
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")


def test_export_then_import_keeps_versions_as_one_family_and_twice_changes_nothing(second_database, tmp_path):
    stem = f"rpt_arch{word(6)}"
    first, second = f"{stem}a", f"{stem}b"
    slug = stem.replace("_", "-")
    psql(f"""
        INSERT INTO reports (public_id, title, slug, industry, region, processor, email, status, visibility, content,
                             completed_at)
        VALUES ('{first}', 'Archive {stem}', '{slug}-a', 'Archive {stem}', '', 'ultra', 'owner.{stem}@example.com',
                'completed', 'public', '# One', now() - interval '40 days');
        INSERT INTO reports (public_id, title, slug, industry, region, processor, email, status, visibility, content,
                             completed_at, family_id)
        SELECT '{second}', 'Archive {stem}', '{slug}-b', 'Archive {stem}', '', 'ultra', 'owner.{stem}@example.com',
               'completed', 'public', '# Two', now(), id FROM reports WHERE public_id = '{first}';
        SELECT append_report_event(id, 'message', '{{"text":"hello"}}'::jsonb, NULL) FROM reports
        WHERE public_id = '{second}';
        """)
    assert psql(f"SELECT string_agg(version::text, ',' ORDER BY id) FROM reports WHERE public_id LIKE '{stem}%';") \
        == "1,2"

    archive = tmp_path / "reports.jsonl"
    cli("export", "-o", str(archive), database_url=os.environ["DATABASE_URL"])
    lines = {json.loads(line)["public_id"]: json.loads(line) for line in archive.read_text().splitlines()}
    assert lines[first]["family"] == first and lines[second]["family"] == first
    assert (lines[first]["version"], lines[second]["version"]) == (1, 2)
    assert f"owner.{stem}@example.com" not in archive.read_text(), "an export carries no e-mail address"

    imported = cli("import", str(archive), database_url=second_database)
    assert "0 failed" in imported.stdout, imported.stdout
    rows = query(second_database, f"""
        SELECT public_id, version, family_id = (SELECT id FROM reports WHERE public_id = '{first}'), email IS NULL
        FROM reports WHERE public_id LIKE '{stem}%' ORDER BY public_id;""")
    assert rows.splitlines() == [f"{first}|1|t|t", f"{second}|2|t|t"], rows
    assert query(second_database, f"""
        SELECT count(*) FROM report_events e JOIN reports r ON r.id = e.report_id
        WHERE r.public_id = '{second}' AND e.type = 'message';""") == "1"

    before = query(second_database, "SELECT count(*), sum(version) FROM reports;")
    again = cli("import", str(archive), database_url=second_database)
    assert "Imported 0," in again.stdout, again.stdout
    assert query(second_database, "SELECT count(*), sum(version) FROM reports;") == before
