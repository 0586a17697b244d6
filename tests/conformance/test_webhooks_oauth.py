"""Webhook signatures and live deliveries, and the OAuth 2.1 PKCE flow of the task console."""
import base64
import hashlib
import hmac
import http.server
import json
import secrets
import threading
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from conftest import WEBHOOK_SECRET, wait_until

VECTOR_BODY = ('{"timestamp":"2026-01-01T00:00:00.000000Z","type":"task_run.status","data":{"run_id":'
               '"trun_00000000000000000000000000000001","status":"completed"}}')


def sign(secret, wid, ts, body: bytes):
    mac = hmac.new(secret.encode(), f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(headers, body: bytes, secret=WEBHOOK_SECRET):
    expected = sign(secret, headers["webhook-id"], headers["webhook-timestamp"], body)
    return any(hmac.compare_digest(s, expected) for s in headers["webhook-signature"].split(" "))


def test_signature_vector():
    assert len(VECTOR_BODY.encode()) == 147
    assert sign("sim_webhook_secret_123", "whevent_sim_0001", "1767225600", VECTOR_BODY.encode()) == \
        "v1,6JWFm7BwffAvhUaVsNnW/iq7Dbz98Btjs7+OFflt9Io="


class Receiver:
    def __init__(self, fail_first=0):
        self.got = []
        self.fail_first = fail_first
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = 500 if len(outer.got) <= outer.fail_first else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/parallel"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def webhook(url):
    return {"url": url, "event_types": ["task_run.status"]}


def test_live_delivery_signed(sim, receiver):
    run = sim.create_run(webhook=webhook(receiver.url), metadata={"report_id": "rpt_9"})
    wait_until(lambda: receiver.got)
    headers, body = receiver.got[0]
    assert verify(headers, body)
    assert headers["webhook-id"].startswith("whevent_") and headers["webhook-timestamp"].isdigit()
    payload = json.loads(body)
    assert payload["type"] == "task_run.status"
    assert payload["data"]["run_id"] == run["run_id"] and payload["data"]["status"] == "completed"
    assert payload["data"]["metadata"] == {"report_id": "rpt_9"} and "output" not in payload["data"]
    log = sim.control("GET", "/webhooks")["deliveries"]
    assert any(d["run_id"] == run["run_id"] and d["status"] == 200 for d in log)


def test_retries_keep_webhook_id(sim):
    rec = Receiver(fail_first=2)
    try:
        sim.create_run(webhook=webhook(rec.url))
        wait_until(lambda: len(rec.got) >= 3, timeout=10)
        ids = {h["webhook-id"] for h, _ in rec.got}
        assert len(ids) == 1
    finally:
        rec.close()


def test_webhook_faults(sim, receiver):
    sim.create_run(webhook=webhook(receiver.url), metadata={"sim_fault": "webhook_bad_signature"})
    wait_until(lambda: receiver.got)
    assert not verify(*receiver.got[0])
    receiver.got.clear()
    sim.create_run(webhook=webhook(receiver.url), metadata={"sim_fault": "webhook_duplicate"})
    wait_until(lambda: len(receiver.got) == 2)
    assert receiver.got[0][0]["webhook-id"] == receiver.got[1][0]["webhook-id"]
    receiver.got.clear()
    sim.create_run(webhook=webhook(receiver.url), metadata={"sim_fault": "webhook_stale"})
    wait_until(lambda: receiver.got)
    import time
    assert int(receiver.got[0][0]["webhook-timestamp"]) < time.time() - 1800
    assert verify(*receiver.got[0])
    receiver.got.clear()
    run = sim.create_run(processor="pro", webhook=webhook(receiver.url), metadata={"sim_fault": "webhook_out_of_order"})
    wait_until(lambda: receiver.got)
    st = requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}", headers=sim.headers()).json()
    assert st["is_active"] is True and json.loads(receiver.got[0][1])["data"]["status"] == "completed"
    receiver.got.clear()
    run = sim.create_run(webhook=webhook(receiver.url), metadata={"sim_fault": "webhook_none"})
    requests.get(f"{sim.url}/v1/tasks/runs/{run['run_id']}/result", headers=sim.headers())
    wait_until(lambda: any(d["run_id"] == run["run_id"] for d in sim.control("GET", "/webhooks")["deliveries"]))
    assert receiver.got == []


def pkce_pair():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_oauth_pkce_flow(sim):
    meta = requests.get(sim.url + "/.well-known/oauth-authorization-server").json()
    assert meta["code_challenge_methods_supported"] == ["S256"]
    # Parallel's provider (docs.parallel.ai/integrations/oauth-provider): /getKeys/* paths, the one scope key:read.
    assert meta["authorization_endpoint"].endswith("/getKeys/authorize")
    assert meta["token_endpoint"].endswith("/getKeys/token")
    assert meta["scopes_supported"] == ["key:read"]
    redirect = "http://localhost:9999/console"
    reg = requests.post(meta["registration_endpoint"], json={"redirect_uris": [redirect]})
    assert reg.status_code == 201
    client_id = reg.json()["client_id"]
    verifier, challenge = pkce_pair()
    params = {"client_id": client_id, "redirect_uri": redirect, "response_type": "code", "scope": "key:read",
              "code_challenge": challenge, "code_challenge_method": "S256", "state": "st4te"}
    r = requests.get(meta["authorization_endpoint"], params=params, allow_redirects=False)
    assert r.status_code == 302
    loc = urlparse(r.headers["Location"])
    q = parse_qs(loc.query)
    assert loc.path == "/console" and q["state"] == ["st4te"] and q["code"]
    # Wrong verifier: invalid_grant (and the code is spent).
    bad = requests.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": q["code"][0],
                                                      "client_id": client_id, "redirect_uri": redirect,
                                                      "code_verifier": pkce_pair()[0]})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    r = requests.get(meta["authorization_endpoint"], params=params, allow_redirects=False)
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    short = requests.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                        "client_id": client_id, "code_verifier": "short"})
    assert short.json()["error"] == "invalid_grant"
    r = requests.get(meta["authorization_endpoint"], params=params, allow_redirects=False)
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    tok = requests.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                      "client_id": client_id, "redirect_uri": redirect,
                                                      "code_verifier": verifier})
    assert tok.status_code == 200 and tok.json()["token_type"] == "Bearer"
    token = tok.json()["access_token"]
    r = requests.post(sim.url + "/v1/tasks/runs", json={"input": "x", "processor": "lite"},
                      headers={"x-api-key": token})
    assert r.status_code == 202
    denied = requests.get(meta["authorization_endpoint"], params={**params, "deny": "1"}, allow_redirects=False)
    dq = parse_qs(urlparse(denied.headers["Location"]).query)
    assert dq["error"] == ["access_denied"] and dq["state"] == ["st4te"]
    unregistered = requests.get(meta["authorization_endpoint"], params={**params, "redirect_uri": "http://elsewhere.example/cb"},
                                allow_redirects=False)
    assert unregistered.status_code == 400, "a registered client keeps to its redirect URIs"
    scope = requests.get(meta["authorization_endpoint"], params={**params, "scope": "api"}, allow_redirects=False)
    assert parse_qs(urlparse(scope.headers["Location"]).query)["error"] == ["invalid_scope"]


def exchange(meta, code, client_id, redirect, verifier):
    return requests.post(meta["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                       "client_id": client_id, "redirect_uri": redirect,
                                                       "code_verifier": verifier})


def test_oauth_seed_002_flow_registers_then_exchanges_with_its_host_name(sim):
    """seeds/002 registers, authorises with the registered id, and exchanges with client_id = its host name."""
    meta = requests.get(sim.url + "/.well-known/oauth-authorization-server").json()
    redirect = "https://console.example.test/tasks-sse/"
    client_id = requests.post(meta["registration_endpoint"], json={"redirect_uris": [redirect]}).json()["client_id"]
    verifier, challenge = pkce_pair()
    r = requests.get(meta["authorization_endpoint"], allow_redirects=False, params={
        "client_id": client_id, "redirect_uri": redirect, "response_type": "code", "scope": "key:read",
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "x"})
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    tok = exchange(meta, code, "console.example.test", redirect, verifier)
    assert tok.status_code == 200 and tok.json()["scope"] == "key:read"
    assert requests.post(sim.url + "/v1/tasks/runs", json={"input": "x", "processor": "lite"},
                         headers={"x-api-key": tok.json()["access_token"]}).status_code == 202


def test_oauth_documented_flow_needs_no_registration(sim):
    """docs.parallel.ai/integrations/oauth-provider: client_id is the app's host name, no registration."""
    meta = requests.get(sim.url + "/.well-known/oauth-authorization-server").json()
    redirect = "https://yourapp.example/callback"
    verifier, challenge = pkce_pair()
    params = {"client_id": "yourapp.example", "redirect_uri": redirect, "response_type": "code", "scope": "key:read",
              "code_challenge": challenge, "code_challenge_method": "S256", "state": "y"}
    r = requests.get(meta["authorization_endpoint"], params=params, allow_redirects=False)
    assert r.status_code == 302
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    assert exchange(meta, code, "someone-else.example", redirect, verifier).json()["error"] == "invalid_grant"
    r = requests.get(meta["authorization_endpoint"], params=params, allow_redirects=False)
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    assert exchange(meta, code, "yourapp.example", redirect, verifier).status_code == 200
    nopkce = requests.get(meta["authorization_endpoint"], allow_redirects=False,
                          params={k: v for k, v in params.items() if not k.startswith("code_challenge")})
    assert parse_qs(urlparse(nopkce.headers["Location"]).query)["error"] == ["invalid_request"]
