"""Reading reports through nginx: the report page, its Markdown download, the library search, caching, hiding.
Reports are inserted straight into the stack's database (DATABASE_URL from scripts/stack.sh env) with psql."""
from __future__ import annotations

import json
import os
import re
import subprocess
import uuid

import pytest

from .helpers import ROOT, curl, wait_for

CONTENT = """# Zymurgy Logistics: Market Research Report

## Executive Summary

The zymurgy logistics market was worth USD 4.2bn in 2025 [1] and grows 7% a year [2].

## Market Size

| Year | Size (USD bn) |
|---|---:|
| 2025 | 4.2 |
| 2026 | 4.5 |

## Risks

Input costs [1].

## Sources

[1] Brewers Association statistics 2025 – https://brewers.example.org/stats-2025
[2] https://www.logistics.example.com/report
"""

BASIS = [{"field": "output", "reasoning": "Synthesised from brewers' association data.", "confidence": "medium",
          "citations": [{"url": "https://brewers.example.org/stats-2025", "title": "Brewers Association statistics 2025",
                         "excerpts": ["Shipments rose 7% in 2025."]},
                        {"url": "https://www.logistics.example.com/report", "title": None, "excerpts": None},
                        {"url": "https://fjord.example.no/trade", "title": "Fjord trade press", "excerpts": None}]}]


def url(path: str) -> str:
    return os.environ["MARKETLENS_URL"].rstrip("/") + path


def psql(sql: str, **variables: str) -> str:
    """Runs SQL on the stack's database; values go in as psql variables (:'name'), quoted by psql."""
    args = ["psql", os.environ["DATABASE_URL"], "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
    for name, value in variables.items():
        args += ["-v", f"{name}={value}"]
    proc = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture()
def report():
    if not os.environ.get("DATABASE_URL"):
        pytest.fail("DATABASE_URL of the stack is not set (scripts/stack.sh env)")
    token = uuid.uuid4().hex[:10]
    public_id, slug = f"rpt_stack{token}", f"zymurgy-logistics-{token}"
    psql("""
        INSERT INTO reports (public_id, title, slug, industry, region, processor, status, content, basis,
                             created_at, started_at, completed_at)
        VALUES (:'id', 'Zymurgy logistics in Nordics: Market Research Report', :'slug', 'Zymurgy logistics',
                'Nordics', 'ultra2x', 'completed', :'content', :'basis'::jsonb,
                now() - interval '20 minutes', now() - interval '19 minutes', now());
        """, id=public_id, slug=slug, content=CONTENT, basis=json.dumps(BASIS))
    yield {"id": public_id, "slug": slug}
    psql("DELETE FROM reports WHERE public_id = :'id';", id=public_id)


def test_report_page_renders_tables_citations_and_references(report):
    reply = curl(url(f"/r/{report['slug']}"))
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.headers.get("cache-control") == "public, max-age=300"
    assert "content-security-policy" in reply.headers
    html = reply.text
    assert "<h1 id=\"report-title\">Zymurgy logistics in Nordics: Market Research Report</h1>" in html
    assert "<table>" in html and '<td align="right">4.2</td>' in html
    assert '<a href="#ref-1" class="cite">[1]</a>' in html
    assert '<li id="ref-1" value="1">' in html and '<li id="ref-2" value="2">' in html
    assert ">Brewers Association statistics 2025</a>" in html
    assert ">logistics.example.com</a>" in html  # no title: the domain stands in
    assert "Shipments rose 7% in 2025." in html
    assert html.count('class="references__list"') == 1
    assert ">Fjord trade press</a>" in html and "(1 source)" in html
    assert "Synthesised from brewers&#39; association data." in html
    assert '<a href="#executive-summary">Executive Summary</a>' in html
    assert f'href="/r/{report["slug"]}.md"' in html
    assert "/static/css/report.css" in html and "/static/js/report.js" in html
    assert "<script>" not in html.lower()


def test_report_assets_are_served_by_nginx():
    for path in ("/static/css/report.css", "/static/js/report.js"):
        reply = curl(url(path))
        assert reply.status == 200, path
        assert reply.body == (ROOT / path.lstrip("/")).read_bytes()


def test_etag_revalidation_answers_304(report):
    first = curl(url(f"/r/{report['slug']}"))
    etag = first.headers["etag"]
    again = curl(url(f"/r/{report['slug']}"), "-H", f"If-None-Match: {etag}")
    assert again.status == 304
    assert again.body == b""
    assert curl(url(f"/r/{report['slug']}"), "-H", 'If-None-Match: "nope"').status == 200


def test_markdown_download_matches_the_content(report):
    reply = curl(url(f"/r/{report['slug']}.md"))
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/markdown; charset=utf-8"
    assert reply.headers["content-disposition"] == f'attachment; filename="{report["slug"]}.md"'
    text = reply.text
    front, _, rest = text.removeprefix("---\n").partition("\n---\n")
    assert 'title: "Zymurgy logistics in Nordics: Market Research Report"' in front.splitlines()
    assert 'region: "Nordics"' in front.splitlines()
    assert f'url: "' in front and f'/r/{report["slug"]}"' in front
    assert CONTENT in rest
    assert rest.endswith("\n## Other sources consulted\n\n- Fjord trade press — https://fjord.example.no/trade\n")


def test_library_search_finds_it_and_bad_parameters_are_400(report):
    reply = curl(url("/library?q=zymurgy"))
    assert reply.status == 200
    assert f'href="/r/{report["slug"]}"' in reply.text
    assert re.search(r"<mark>zymurgy</mark>", reply.text, re.IGNORECASE)
    assert curl(url("/library?page=0")).status == 400
    assert curl(url("/library?from=2025-13-01")).status == 400
    api = curl(url("/api/v1/reports?q=zymurgy"))
    assert api.status == 200
    listed = json.loads(api.text)["reports"]
    assert [item["slug"] for item in listed] == [report["slug"]]
    state = json.loads(curl(url(f"/api/v1/reports/{report['id']}")).text)
    assert state["status"] == "completed" and state["url"].endswith(f"/r/{report['slug']}")


def test_hidden_reports_are_404_everywhere(report):
    search = url(f"/library?q=zymurgy+{report['slug'].rsplit('-', 1)[1]}+OR+zymurgy")
    assert f'/r/{report["slug"]}"' in curl(search).text
    psql("UPDATE reports SET hidden = true WHERE public_id = :'id';", id=report["id"])
    assert curl(url(f"/r/{report['slug']}")).status == 404
    assert curl(url(f"/r/{report['slug']}.md")).status == 404
    assert curl(url(f"/api/v1/reports/{report['id']}")).status == 404
    # Library pages are micro-cached for 5 s per worker process: the listing follows within that.
    assert wait_for(lambda: f'/r/{report["slug"]}"' not in curl(search).text, timeout=8, interval=0.5)
