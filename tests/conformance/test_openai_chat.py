"""The official `openai` SDK against the simulator's Chat API."""
import json

import pytest
from openai import OpenAI, AuthenticationError

from conftest import API_KEY

SCHEMA = {"type": "object", "additionalProperties": False,
          "properties": {"is_valid": {"type": "boolean"}, "reasoning": {"type": "string"},
                         "issues_found": {"type": "array", "items": {"type": "string"}}},
          "required": ["is_valid", "reasoning", "issues_found"]}


def validate(client, text, model="speed"):
    r = client.chat.completions.create(
        model=model, messages=[{"role": "system", "content": "You validate inputs."},
                               {"role": "user", "content": f"Industry: {text}\nGeography: EU\nDetails: "}],
        response_format={"type": "json_schema", "json_schema": {"name": "validation", "schema": SCHEMA}})
    return r, json.loads(r.choices[0].message.content)


@pytest.fixture
def client(sim):
    return OpenAI(api_key=API_KEY, base_url=sim.url, max_retries=0)


def test_valid_and_invalid_inputs(client):
    r, v = validate(client, "cold-chain logistics")
    assert v["is_valid"] is True and v["issues_found"] == [] and v["reasoning"]
    assert r.choices[0].message.role == "assistant"
    for bad in ["test", "asdf", "12345", "xkcdqwzt", "zzzzzz"]:
        _, v = validate(client, bad)
        assert v["is_valid"] is False and v["issues_found"], bad


def test_research_model_adds_basis(client):
    r, _ = validate(client, "medical devices", model="lite")
    assert r.model_extra["basis"] and r.model_extra["basis"][0]["citations"]
    r, _ = validate(client, "medical devices", model="speed")
    assert r.model_extra["basis"] == []


def test_streaming(client):
    stream = client.chat.completions.create(
        model="speed", stream=True, messages=[{"role": "user", "content": "Industry: fintech"}],
        response_format={"type": "json_schema", "json_schema": {"name": "v", "schema": SCHEMA}})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert json.loads(text)["is_valid"] is True


def test_v1beta_path_and_bad_key(sim):
    beta = OpenAI(api_key=API_KEY, base_url=sim.url + "/v1beta", max_retries=0)
    r = beta.chat.completions.create(model="speed", messages=[{"role": "user", "content": "hello there"}])
    assert r.choices[0].message.content
    bad = OpenAI(api_key="nope", base_url=sim.url, max_retries=0)
    with pytest.raises(AuthenticationError):
        bad.chat.completions.create(model="speed", messages=[{"role": "user", "content": "x"}])
