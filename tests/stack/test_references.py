"""A report's references through nginx, for every form upstream-sim writes them in (as Parallel's deep research
does: inline [n] markers, the report's own reference section at its end, a basis listing every site visited).
The page has exactly one numbered list; every marker link resolves into it; the other sources consulted are
listed once, collapsed; the .md download and the API carry the same references."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from .helpers import curl
from .report_flow_helpers import create_report, psql, url, wait_until_finished, word

FORMS = ["numbered", "bracket", "mdlink", "multiline", "bare", "none"]


class ReportPage(HTMLParser):
    """What a reader sees of the references: the numbered lists, their items' ids, the marker links in the
    body, and the consulted sources."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.numbered_lists = 0
        self.list_item_ids: list[str] = []
        self.marker_targets: list[str] = []
        self.consulted_blocks = 0
        self.consulted_links: list[str] = []
        self.numbered_links: list[str] = []
        self.summary = ""
        self._in_list = self._in_consulted = self._in_summary = self._in_body = self._first_link = False
        self._body_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "div" and a.get("id") == "report":
            self._in_body, self._body_depth = True, 0
        elif self._in_body and tag == "div":
            self._body_depth += 1
        if tag == "ol" and "references__list" in classes:
            self.numbered_lists += 1
            self._in_list = True
        if tag == "details" and "consulted" in classes:
            self.consulted_blocks += 1
            self._in_consulted = True
        if tag == "summary" and self._in_consulted:
            self._in_summary = True
        if tag == "li" and self._in_list and a.get("id"):
            self.list_item_ids.append(a["id"])
        if tag == "li" and (self._in_list or self._in_consulted):
            self._first_link = True
        if tag == "a" and a.get("href", "").startswith("http") and self._first_link:
            # An entry's title links to its URL (and the URL line repeats it): one URL per entry.
            self._first_link = False
            if self._in_list:
                self.numbered_links.append(a["href"])
            elif self._in_consulted:
                self.consulted_links.append(a["href"])
        if tag == "a" and self._in_body and "cite" in classes:
            self.marker_targets.append(a.get("href", ""))

    def handle_endtag(self, tag):
        if tag == "ol":
            self._in_list = False
        if tag == "details":
            self._in_consulted = False
        if tag == "summary":
            self._in_summary = False
        if tag == "div" and self._in_body:
            if self._body_depth == 0:
                self._in_body = False
            else:
                self._body_depth -= 1

    def handle_data(self, data):
        if self._in_summary:
            self.summary += data


@pytest.fixture(scope="module")
def reports():
    """One finished report per reference form, created through the research form."""
    created = {form: create_report(f"Kelp farming {word()}", region="Nordics", focus=f"Processors sim:refs={form}")
               for form in FORMS}
    states = {form: wait_until_finished(public_id, timeout=90) for form, public_id in created.items()}
    for form, state in states.items():
        assert state["status"] == "completed", (form, state)
    return states


def unique(links: list[str]) -> list[str]:
    return list(dict.fromkeys(links))


@pytest.mark.parametrize("form", FORMS)
def test_one_numbered_list_every_marker_resolves_consulted_listed_once(reports, form):
    state = reports[form]
    html = curl(url(f"/r/{state['slug']}")).text
    page = ReportPage()
    page.feed(html)
    assert page.marker_targets or form == "none", "the body has marker links"
    if form == "none":
        assert page.numbered_lists == 0 and page.marker_targets == [], "no section: markers stay text"
        assert "[1, 3]" in html and "[1]" in html
    else:
        assert page.numbered_lists == 1, "exactly one numbered reference list"
        assert page.list_item_ids == [f"ref-{n}" for n in range(1, 7)]
        assert {t.removeprefix("#") for t in page.marker_targets} <= set(page.list_item_ids), \
            "every marker link resolves to an entry of the list"
        assert '<span class="cite-group">' in html, "grouped markers link number by number"
    # The rest of the basis: collapsed, counted, once; never a URL of the numbered list.
    assert page.consulted_blocks == 1
    consulted = unique(page.consulted_links)
    assert len(consulted) == len(page.consulted_links), "each consulted source once"
    count = int(re.search(r"\((\d+) sources?\)", page.summary).group(1))
    assert count == len(consulted)
    assert not set(consulted) & set(page.numbered_links), "no URL in both lists"
    basis = json.loads(psql("SELECT basis::text FROM reports WHERE public_id = :'id';", id=state["id"]))
    visited = {c["url"] for entry in basis for c in entry["citations"]}
    assert set(consulted) | set(unique(page.numbered_links)) == visited, "every site visited is shown, once"
    assert "<details open" not in html, "collapsed by default"


@pytest.mark.parametrize("form", FORMS)
def test_the_download_and_the_api_carry_the_same_references(reports, form):
    state = reports[form]
    api = json.loads(curl(url(f"/api/v1/reports/{state['id']}")).body)
    download = curl(url(f"/r/{state['slug']}.md")).text
    html = curl(url(f"/r/{state['slug']}")).text
    page = ReportPage()
    page.feed(html)
    content = psql("SELECT content FROM reports WHERE public_id = :'id';", id=state["id"])
    assert api["markdown"].rstrip("\n") == content  # psql trims the trailing newline
    assert content in download, "the download is the report as written"
    numbers = [r["number"] for r in api["references"]]
    urls = [r["url"] for r in api["references"]]
    if form == "none":
        assert numbers == []
    else:
        assert numbers == list(range(1, 7))
        assert all(u in content for u in urls), "each reference is an entry of the report's own list"
        assert urls == page.numbered_links, "the page lists the same references, in number order"
        assert all(r["excerpts"] for r in api["references"]), "entries are enriched with the basis excerpts"
        assert all(r["title"] for r in api["references"])
    consulted = [s["url"] for s in api["consulted_sources"]]
    assert consulted == page.consulted_links
    assert all("number" not in s for s in api["consulted_sources"]), "consulted sources are not numbered"
    tail = download.split("\n## Other sources consulted\n\n", 1)[1]
    assert [line.rsplit(" — ", 1)[1] for line in tail.strip().splitlines()] == consulted
    assert all(line.startswith("- ") for line in tail.strip().splitlines()), "a bulleted list, not a numbered one"
