"""Batch visibility through nginx (issue 12): the seed-001 API takes an optional `visibility`, unlisted by
default; only public batches are listed on /batch; ids carry more than 128 random bits; a bad value is a 422
that creates nothing."""
from __future__ import annotations

import re

import requests

from .report_flow_helpers import psql
from .test_batch import SEED_BODY, post_stream, read_stream, url


def batches_listed() -> str:
    page = requests.get(url("/batch"), verify=False, timeout=10)
    assert page.status_code == 200
    return page.text.split('id="recent-batches"', 1)[1].split("</section>", 1)[0]


def test_only_batches_asked_public_are_listed_and_the_seed_body_stays_unlisted():
    ids = {}
    for visibility in ("public", "unlisted", None):
        body = dict(SEED_BODY, research_goal=f"Find fintech companies ({visibility}) using AI for fraud detection")
        if visibility is not None:
            body["visibility"] = visibility
        response = post_stream(body)
        assert response.status_code == 200
        ids[visibility] = response.headers["X-Batch-ID"]
        events = read_stream(response)
        assert [e["event"] for e in events][-1] == "completed"
    for batch_id in ids.values():
        assert re.fullmatch(r"bat_[a-z0-9]{26}", batch_id), batch_id
        # Unlisted means "only with the link": the batch itself answers for whoever has it.
        assert requests.get(url(f"/research/batch/{batch_id}"), verify=False, timeout=10).status_code == 200
        assert requests.get(url(f"/batch/{batch_id}"), verify=False, timeout=10).status_code == 200
    listed = batches_listed()
    assert f'href="/batch/{ids["public"]}"' in listed
    assert ids["unlisted"] not in listed and ids[None] not in listed
    assert "(unlisted)" not in listed and "(None)" not in listed


def test_a_bad_visibility_is_a_422_naming_it_and_creates_nothing():
    before = psql("SELECT count(*) FROM batches;")
    for value in ("secret", 1, True, {"a": 1}):
        response = requests.post(url("/research/batch"), json=dict(SEED_BODY, visibility=value), verify=False,
                                 timeout=10)
        assert response.status_code == 422, (value, response.text[:200])
        assert "visibility" in response.json()["error"]["fields"], response.text
    assert psql("SELECT count(*) FROM batches;") == before
