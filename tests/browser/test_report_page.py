"""A reader follows a citation on a finished report in headless Chromium: the marker leads to the report's own
numbered entry, and the other sources consulted stay folded away until asked for."""
from __future__ import annotations

import os

from stack.report_flow_helpers import create_report, wait_until_finished, word

from .cdp import Browser


def test_a_marker_leads_to_its_entry_and_consulted_sources_unfold(browser: Browser):
    base = os.environ["MARKETLENS_URL"].rstrip("/")
    public_id = create_report(f"Seaweed packaging {word()}", region="Nordics", focus="Retailers sim:refs=bracket")
    state = wait_until_finished(public_id, timeout=90)
    assert state["status"] == "completed", state
    browser.navigate(f"{base}/r/{state['slug']}")

    # Grouped markers show their numbers; every marker link points at an entry that exists.
    targets = browser.evaluate("[...document.querySelectorAll('#report a.cite')].map(a => a.getAttribute('href'))")
    assert targets and all(browser.evaluate(f"!!document.querySelector('.references__list li{t}')") for t in set(targets))
    assert browser.evaluate("document.querySelector('#report .cite-group').textContent") == "[1, 3]"
    assert browser.evaluate("document.querySelectorAll('ol.references__list').length") == 1

    # Clicking [3] (the second number of the first group) lands on entry 3, in view.
    browser.evaluate("document.querySelectorAll('#report .cite-group a.cite')[1].click(); true")
    assert browser.wait_for("location.hash === '#ref-3'", 5)
    entry = browser.evaluate("""(() => { const li = document.querySelector(':target');
        const box = li.getBoundingClientRect();
        return {id: li.id, inView: box.top >= 0 && box.top < innerHeight,
                title: li.querySelector('.reference__title').textContent.trim(),
                excerpt: !!li.querySelector('blockquote.excerpt')}; })()""")
    assert entry["id"] == "ref-3" and entry["inView"], entry
    assert entry["title"] and entry["excerpt"], "the entry has its title and the basis excerpt"

    # The rest of what was read: counted, folded, and shown on request.
    folded = browser.evaluate("""(() => { const d = document.getElementById('consulted');
        return {open: d.open, count: d.querySelectorAll('li').length, summary: d.querySelector('summary').textContent,
                visible: d.querySelector('li').checkVisibility()}; })()""")
    assert folded["open"] is False and folded["visible"] is False
    assert f"({folded['count']} sources)" in folded["summary"] and folded["count"] >= 4
    browser.evaluate("document.querySelector('#consulted summary').click(); true")
    assert browser.wait_for("document.getElementById('consulted').open && document.querySelector('#consulted li').checkVisibility()", 5)
    assert not browser.exceptions, browser.exceptions
