"""The official `parallel-web` SDK against the simulator."""
import re

import pytest
from parallel import Parallel, APIStatusError

from conftest import API_KEY

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def client(sim):
    return Parallel(api_key=API_KEY, base_url=sim.url, max_retries=0)


def test_create_retrieve_result_text(client):
    run = client.task_run.create(input="Industry: cold-chain logistics\nRegion: EU", processor="ultra2x",
                                 task_spec={"output_schema": {"type": "text", "description": "report"}},
                                 metadata={"report_id": "rpt_1"})
    assert re.fullmatch(r"trun_[0-9a-f]{32}", run.run_id)
    assert run.interaction_id == run.run_id
    assert run.status == "queued" and run.is_active
    assert TS.match(run.created_at) and TS.match(run.modified_at)
    got = client.task_run.retrieve(run.run_id)
    assert got.run_id == run.run_id and got.metadata == {"report_id": "rpt_1"}
    result = client.task_run.result(run.run_id, api_timeout=600)
    assert result.run.status == "completed" and result.run.is_active is False
    assert result.run.modified_at != result.run.created_at
    out = result.output
    assert out.type == "text"
    assert out.content.startswith("# ") and "cold-chain logistics" in out.content
    assert "| Year |" in out.content and "[1]" in out.content
    assert len(out.basis) == 1 and out.basis[0].field == "output"
    assert all(c.url.startswith("https://") and c.title and c.excerpts for c in out.basis[0].citations)
    inp = client.task_run.retrieve_input(run.run_id)
    assert inp.processor == "ultra2x" and "cold-chain" in inp.input


REFERENCE_FORMS = {
    "numbered": re.compile(r"^(\d+)\. .+\. (https://\S+)$", re.M),
    "bracket": re.compile(r"^\[(\d+)\] .+ \u2013 (https://\S+)$", re.M),
    "mdlink": re.compile(r"^(\d+)\. \[.+\]\((https://[^)\s]+)\)$", re.M),
    "multiline": re.compile(r"^(\d+)\. .+,\n   .+\n   Available at: (https://\S+)$", re.M),
    "bare": re.compile(r"^()(https://\S+)$", re.M),
}


@pytest.mark.parametrize("form", [*REFERENCE_FORMS, "none"])
def test_text_report_has_its_own_references_and_a_basis_of_every_site_visited(client, form):
    """Deep research text output (docs.parallel.ai task-api/task-deep-research): inline [n] markers, the most
    relevant citations at the base of the report, and one `output` FieldBasis listing all sites visited."""
    run = client.task_run.create(input="Industry: cold-chain logistics\nRegion: EU", processor="lite",
                                 task_spec={"output_schema": {"type": "text"}}, metadata={"sim_refs": form})
    out = client.task_run.result(run.run_id, api_timeout=600).output
    markers = re.findall(r"\[(\d+)(?:[,\u2013] ?(\d+))?\]", out.content)
    assert markers and "[1, 3]" in out.content and "[1\u20133]" in out.content
    visited = [c.url for c in out.basis[0].citations]
    assert len(set(visited)) == len(visited)
    if form == "none":
        assert "https://" not in out.content
        return
    entries = REFERENCE_FORMS[form].findall(out.content)
    assert len(entries) == 6, out.content[-800:]
    cited = [url for _, url in entries]
    assert set(cited) <= set(visited) and len(visited) > len(cited), "the basis lists more sites than the report cites"
    assert visited[:6] != cited, "the basis is not in the markers' order"
    if form != "bare":
        assert [int(n) for n, _ in entries] == list(range(1, 7))
        assert re.search(r"^(#+ |\*\*)(references|sources|citations|bibliography)", out.content, re.I | re.M)


def test_the_reference_form_is_deterministic_per_input(client):
    def content(text):
        run = client.task_run.create(input=text, processor="lite", task_spec={"output_schema": {"type": "text"}})
        return client.task_run.result(run.run_id, api_timeout=600).output.content
    assert content("Industry: kelp farming") == content("Industry: kelp farming")


def test_json_schema_output_follows_schema(client):
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"market_size": {"type": "string"}, "is_growing": {"type": "boolean"},
                             "confidence_score": {"type": "number"}, "players": {"type": "array", "items": {"type": "string"}},
                             "hq": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                                    "additionalProperties": False}},
              "required": ["market_size", "is_growing", "confidence_score", "players", "hq"]}
    run = client.task_run.create(input={"industry": "solar inverters", "region": "Germany"}, processor="core",
                                 task_spec={"output_schema": {"type": "json", "json_schema": schema}})
    assert run.warnings is None
    res = client.task_run.result(run.run_id)
    c = res.output.content
    assert res.output.type == "json"
    assert isinstance(c["market_size"], str) and isinstance(c["is_growing"], bool)
    assert 0 <= c["confidence_score"] <= 1 and all(isinstance(p, str) for p in c["players"])
    assert isinstance(c["hq"]["city"], str)
    assert {b.field for b in res.output.basis} == set(schema["properties"])


def test_schema_warnings_and_auto(client):
    run = client.task_run.create(input="x industry", processor="pro",
                                 task_spec={"output_schema": {"type": "json", "json_schema": {
                                     "type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                                     "required": ["a"]}}})
    assert run.warnings and all(w.type == "spec_validation_warning" for w in run.warnings)
    auto = client.task_run.create(input="Industry: robotics", processor="pro")
    res = client.task_run.result(auto.run_id)
    assert res.output.type == "json" and res.output.output_schema["type"] == "object"


def test_errors_401_403_404_422(sim):
    bad = Parallel(api_key="wrong", base_url=sim.url, max_retries=0)
    with pytest.raises(APIStatusError) as e:
        bad.task_run.create(input="x", processor="lite")
    assert e.value.status_code == 401 and e.value.body["error"]["ref_id"]
    assert e.value.body["error"]["message"] == "Unauthorized: invalid or missing credentials"
    c = Parallel(api_key=API_KEY, base_url=sim.url, max_retries=0)
    with pytest.raises(APIStatusError) as e:
        c.task_run.create(input="x", processor="hyper")
    assert e.value.status_code == 403
    assert e.value.body["error"]["message"] == "Forbidden: invalid processor in request"
    with pytest.raises(APIStatusError) as e:
        c.task_run.retrieve("trun_" + "0" * 32)
    assert e.value.status_code == 404 and e.value.body["error"]["message"]
    with pytest.raises(APIStatusError) as e:
        c.task_run.create(input="x", processor="core", task_spec={"output_schema": {"type": "json", "json_schema": {
            "type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}}}})
    assert e.value.status_code == 422 and e.value.body["type"] == "error"
    assert e.value.body["error"]["message"].startswith("Unprocessable content: request validation error: ")
    assert "maxLength" in e.value.body["error"]["message"]


def test_per_element_basis_with_the_field_basis_beta(client):
    schema = {"type": "object", "additionalProperties": False, "required": ["company", "key_executives"],
              "properties": {"company": {"type": "string"},
                             "key_executives": {"type": "array", "items": {"type": "string"}}}}
    spec = {"output_schema": {"type": "json", "json_schema": schema}}
    plain = client.task_run.create(input={"company_name": "Acme"}, processor="core", task_spec=spec)
    assert {b.field for b in client.task_run.result(plain.run_id).output.basis} == {"company", "key_executives"}
    beta = client.task_run.create(input={"company_name": "Acme"}, processor="core", task_spec=spec,
                                  extra_headers={"parallel-beta": "field-basis-2025-11-25"})
    res = client.task_run.result(beta.run_id)
    fields = [b.field for b in res.output.basis]
    executives = res.output.content["key_executives"]
    assert fields == ["company", "key_executives"] + [f"key_executives.{i}" for i in range(len(executives))]
    assert all(b.citations and b.confidence in ("high", "medium") for b in res.output.basis)


def test_auto_schema_output_is_nested_with_dot_path_basis(client):
    run = client.task_run.create(input="Industry: robotics", processor="pro", task_spec={"output_schema": {"type": "auto"}})
    out = client.task_run.result(run.run_id).output
    assert out.type == "json" and out.output_schema["properties"]["market_size"]["type"] == "object"
    assert isinstance(out.content["market_size"]["value_usd_billions"], float)
    fields = {b.field for b in out.basis}
    assert {"market_size", "market_size.value_usd_billions", "market_size.year", "key_players"} <= fields


def test_result_timeout_408(sim):
    c = Parallel(api_key=API_KEY, base_url=sim.url, max_retries=0)
    run = c.task_run.create(input="Industry: shipping", processor="ultra8x")
    with pytest.raises(APIStatusError) as e:
        c.task_run.result(run.run_id, api_timeout=1)
    assert e.value.status_code == 408


def test_events_stream_sdk(client):
    run = client.task_run.create(input="Industry: vertical farming\nRegion: US", processor="pro",
                                 task_spec={"output_schema": "Markdown report"}, enable_events=True)
    events = list(client.task_run.events(run.run_id))
    types = [e.type for e in events]
    assert types[0] == "task_run.state"
    assert types[-1] == "task_run.state"
    assert any(t.startswith("task_run.progress_msg.") for t in types)
    stats = [e for e in events if e.type == "task_run.progress_stats"]
    meters = [s.progress_meter for s in stats]
    assert meters == sorted(meters) and meters[-1] == 100
    last = events[-1]
    assert last.run.status == "completed" and last.output is not None and last.output.type == "text"
    # Reconnect after completion: same trace replayed, then the terminal state with output.
    again = list(client.task_run.events(run.run_id))
    msgs1 = [(e.type, e.timestamp, e.message) for e in events if e.type.startswith("task_run.progress_msg")]
    msgs2 = [(e.type, e.timestamp, e.message) for e in again if e.type.startswith("task_run.progress_msg")]
    assert msgs1 == msgs2
    assert again[-1].output is not None


def test_task_group_sdk(client):
    g = client.task_group.create(metadata={"batch": "weekly"})
    assert g.task_group_id.startswith("tgrp_")
    added = client.task_group.add_runs(g.task_group_id, inputs=[
        {"input": {"company_name": f"Acme {i}"}, "processor": "lite", "metadata": {"row": str(i)}} for i in range(3)],
        default_task_spec={"output_schema": {"type": "json", "json_schema": {
            "type": "object", "properties": {"hq": {"type": "string"}}, "required": ["hq"], "additionalProperties": False}}})
    assert len(added.run_ids) == 3 and added.status.num_task_runs == 3
    events = list(client.task_group.events(g.task_group_id))
    ids = [int(e.event_id) for e in events]
    assert ids == sorted(ids)
    done = [e for e in events if e.type == "task_run.state"]
    assert {e.run.run_id for e in done} == set(added.run_ids)
    assert events[-1].type == "task_group_status" and events[-1].status.is_active is False
    # Resume after an event id: strictly later events only.
    later = list(client.task_group.events(g.task_group_id, last_event_id=str(ids[1])))
    assert [int(e.event_id) for e in later] == ids[2:]
    runs = list(client.task_group.get_runs(g.task_group_id, include_input=True, include_output=True))
    assert len(runs) == 3 and all(r.output is not None and r.input is not None for r in runs)
    assert all(r.run.task_group_id == g.task_group_id for r in runs)
    one = client.task_group.retrieve_run(added.run_ids[0], task_group_id=g.task_group_id)
    assert one.run_id == added.run_ids[0]
    status = client.task_group.retrieve(g.task_group_id)
    assert status.status.task_run_status_counts == {"completed": 3}
