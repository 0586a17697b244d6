"""The task console in a real browser: connect through upstream-sim's OAuth flow, run tasks, watch their events,
find them in the history after a reload, and check that hostile upstream content stays inert."""
from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request

import pytest

KEY = "marketlens.console.key"

# No element may carry an event-handler attribute, and no script may exist beyond our own files.
INERT_CHECK = """(() => {
  const handlers = [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on')));
  const scripts = [...document.scripts].map(s => s.getAttribute('src') || 'INLINE');
  const view = document.getElementById('run-view');
  const injected = view.querySelectorAll('script, img, svg, iframe, object, embed, style, form');
  const badLinks = [...view.querySelectorAll('a[href]')].filter(a => !/^(https?:|#)/.test(a.getAttribute('href')));
  return {handlers: handlers.length, scripts, injected: injected.length, badLinks: badLinks.map(a => a.getAttribute('href')),
          xss: typeof window.__xss !== 'undefined'};
})()"""

# An event's identity is (kind, upstream timestamp, message): the sim repeats texts within a second.
EVENTS = """[...document.querySelectorAll('#events li')].map(li => (li.dataset.at || '') + '|' + li.textContent)"""


def sim_time_scale() -> float:
    url = os.environ.get("UPSTREAM_SIM_URL")
    if not url:
        return 0.02
    with urllib.request.urlopen(url + "/__sim/health", timeout=5) as r:
        return float(json.load(r)["time_scale"])


def connect(browser, base: str) -> str:
    """Runs the OAuth flow from the console's button; returns the key the browser stored."""
    browser.navigate(base + "console")
    assert browser.evaluate(f"localStorage.getItem('{KEY}')") is None
    browser.evaluate("document.getElementById('connect').click(); true")
    key = browser.wait_for(
        f"location.pathname === '/console' && !location.search && localStorage.getItem('{KEY}')", timeout=30)
    browser.wait_for("document.readyState === 'complete'")
    assert browser.evaluate("document.getElementById('key-status').textContent").startswith("Connected")
    # The OAuth leftovers are gone: no pending verifier, no code in the address.
    assert browser.evaluate("sessionStorage.getItem('marketlens.console.oauth')") is None
    check_oauth_as_parallel_does_it(base)
    return key


def check_oauth_as_parallel_does_it(base: str) -> None:
    """What the provider saw: scope key:read at /getKeys/authorize, and (as seed 002 does) the code exchanged with
    client_id set to the console's own host name."""
    sim = os.environ.get("UPSTREAM_SIM_URL")
    if not sim:
        return
    with urllib.request.urlopen(sim + "/__sim/requests?path=/getKeys/", timeout=5) as r:
        seen = json.load(r)
    seen = seen.get("requests", seen) if isinstance(seen, dict) else seen
    authorize = [e for e in seen if e["path"] == "/getKeys/authorize"][-1]
    assert authorize["query"]["scope"] == "key:read"
    token = [e for e in seen if e["path"] == "/getKeys/token"][-1]
    form = urllib.parse.parse_qs(token["body"])
    assert form["client_id"] == [urllib.parse.urlsplit(base).hostname]
    assert form["grant_type"] == ["authorization_code"] and form["code_verifier"]


def start_run(browser, *, processor: str, text_input: str, output: str, metadata: dict, include=(), exclude=()) -> str:
    script = f"""(() => {{
      document.getElementById('processor').value = {json.dumps(processor)};
      document.getElementById('input').value = {json.dumps(text_input)};
      document.querySelector('input[name=output_type][value={output}]').click();
      if ({json.dumps(output)} === 'json') document.getElementById('schema-example').click();
      document.getElementById('include-domains').value = {json.dumps(", ".join(include))};
      document.getElementById('exclude-domains').value = {json.dumps(chr(10).join(exclude))};
      const entries = Object.entries({json.dumps(metadata)});
      entries.forEach((pair, i) => {{
        if (i > 0) document.getElementById('metadata-add').click();
        const rows = document.querySelectorAll('.metadata-row');
        rows[i].querySelector('.metadata-key').value = pair[0];
        rows[i].querySelector('.metadata-value').value = pair[1];
      }});
      document.getElementById('run-form').requestSubmit();
      return true;
    }})()"""
    browser.evaluate(script)
    run_id = browser.wait_for(
        "!document.getElementById('run-view').hidden && document.getElementById('run-id').textContent", timeout=30)
    assert run_id.startswith("trun_"), browser.evaluate("document.getElementById('form-error').textContent")
    return run_id


def wait_completed(browser, timeout: float = 60) -> None:
    browser.wait_for(
        "document.getElementById('run-status').textContent === 'completed' && !document.getElementById('output').hidden"
        " && document.getElementById('output-content').textContent.length > 0", timeout=timeout)


def assert_no_duplicates(browser) -> list[str]:
    events = browser.evaluate(EVENTS)
    assert len(events) == len(set(events)), f"an event is shown twice: {events}"
    return events


def test_connect_run_watch_and_find_it_in_history(stack, browser):
    base = stack if stack.endswith("/") else stack + "/"
    key = connect(browser, base)
    scale = sim_time_scale()
    run_id = start_run(
        browser, processor="core", text_input="Cold-chain logistics market in the EU", output="json",
        metadata={"sim_duration": str(int(6 / scale)), "purpose": "browser test"},
        include=["europa.eu", "sec.gov"], exclude=["reddit.com"])
    # Live while running.
    browser.wait_for("document.getElementById('stream-state').textContent === 'Live'", timeout=20)
    wait_completed(browser)
    output = json.loads(browser.evaluate("document.querySelector('#output-content pre').textContent"))
    assert set(output) >= {"market_size", "top_players", "growth_outlook"}
    assert browser.evaluate("document.querySelectorAll('#output-basis .basis-entry').length") >= 3
    assert browser.evaluate("document.querySelectorAll('#output-basis .citations a[href^=\"http\"]').length") >= 1
    events = assert_no_duplicates(browser)
    assert "|Staterunning" in events and "|Statecompleted" in events, events
    assert sum(1 for e in events if not e.startswith("|State")) >= 2, events  # progress messages
    assert browser.evaluate("document.getElementById('run-stats').textContent").startswith("Progress")
    assert browser.evaluate("document.getElementById('stream-state').textContent") == "Finished."

    # What was sent: the JSON schema and the source policy, as Parallel stored them.
    stored = browser.evaluate(f"""fetch('/console/api/v1/tasks/runs/{run_id}/input', {{headers: {{
        'X-Requested-With': 'marketlens-console', 'X-Parallel-Key': localStorage.getItem('{KEY}')}}}}).then(r => r.json())""")
    assert stored["task_spec"]["output_schema"]["type"] == "json"
    assert stored["task_spec"]["output_schema"]["json_schema"]["required"] == ["market_size", "top_players", "growth_outlook"]
    assert stored["source_policy"] == {"include_domains": ["europa.eu", "sec.gov"], "exclude_domains": ["reddit.com"]}
    assert stored["metadata"]["purpose"] == "browser test"

    # After a reload the run is in the history and reopens into its full event view.
    browser.reload()
    browser.wait_for(f"document.querySelector('#history li[data-run-id=\"{run_id}\"]') !== null")
    item = browser.evaluate(f"document.querySelector('#history li[data-run-id=\"{run_id}\"]').textContent")
    assert "completed" in item and "core" in item and "Cold-chain" in item
    browser.evaluate(f"document.querySelector('#history li[data-run-id=\"{run_id}\"] button').click(); true")
    wait_completed(browser)
    assert browser.evaluate("document.getElementById('run-id').textContent") == run_id
    assert_no_duplicates(browser)
    # The key never reached the browser console.
    assert not any(key in line for line in browser.console)
    assert browser.dialogs == [] and browser.exceptions == []


def test_hostile_content_renders_inert(stack, browser):
    base = stack if stack.endswith("/") else stack + "/"
    connect(browser, base)
    scale = sim_time_scale()
    start_run(browser, processor="core", text_input="Market map sim:hostile", output="text",
              metadata={"sim_content": "hostile", "sim_duration": str(int(4 / scale))})
    wait_completed(browser)
    browser.wait_for("document.querySelector('#output-content .markdown') !== null"
                     " && document.querySelector('#output-content .markdown').childElementCount > 0")
    browser.pump(1.0)  # give any injected handler the chance to fire
    state = browser.evaluate(INERT_CHECK)
    assert state["handlers"] == 0, state
    assert state["injected"] == 0, state
    assert state["badLinks"] == [], state
    assert state["xss"] is False
    assert all(src.startswith("/static/js/") for src in state["scripts"]), state
    assert browser.dialogs == [], browser.dialogs
    # The hostile strings are there, as text.
    text = browser.evaluate("document.getElementById('run-view').textContent")
    assert "<script>alert(1)</script>" in text or "onerror=alert(1)" in text
    assert browser.evaluate("document.querySelectorAll('#output-content .markdown h1, #output-content .markdown h2').length") >= 1


def test_streams_reconnect_without_duplicates_and_stop_for_real(stack, browser):
    base = stack if stack.endswith("/") else stack + "/"
    connect(browser, base)
    scale = sim_time_scale()
    # Every event connection of this run is cut after 4 events: the console must keep reconnecting (no fixed
    # cap) until the run is over, and show each event once.
    start_run(browser, processor="pro", text_input="Reconnect test", output="text",
              metadata={"sim_fault": "stream_drop;after=4", "sim_duration": str(int(8 / scale))})
    wait_completed(browser, timeout=120)
    assert_no_duplicates(browser)
    opened = [u for u in browser.requests.values() if u.endswith("/events")]
    assert len(opened) >= 3, opened  # it reconnected more than the reference's cap allowed for

    # A long run: "Stop streaming" aborts the request for real and nothing reconnects afterwards.
    start_run(browser, processor="pro", text_input="Stop test", output="auto",
              metadata={"sim_duration": str(int(600 / scale))})
    browser.wait_for("document.getElementById('stream-state').textContent === 'Live'", timeout=20)
    browser.evaluate("document.getElementById('stream-stop').click(); true")
    browser.wait_for("document.getElementById('stream-state').textContent === 'Streaming stopped.'")
    browser.pump(1.0)
    cancelled = [f for f in browser.failed_loads if f["url"].endswith("/events") and f.get("canceled")]
    assert cancelled, f"the event request was not aborted: {browser.failed_loads}"
    count = len([u for u in browser.requests.values() if u.endswith("/events")])
    browser.pump(4.0)
    assert len([u for u in browser.requests.values() if u.endswith("/events")]) == count, "it reconnected after stop"
    assert not browser.evaluate("document.getElementById('stream-resume').hidden")
