"""Emitting and delivering webhooks: envelope, signatures, retries on the clock, manual retry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import jwt
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Request, Response

from billow.db.context import Ctx
from billow.webhooks import emitter
from billow.webhooks.catalog import CATALOG, WebhookType
from billow.webhooks.models import Webhook, WebhookAttempt


class Thing:
    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.name = "thing é"


def _thing_payload(session: Any, obj: Thing) -> dict[str, Any]:
    return {"lago_id": str(obj.id), "name": obj.name}


@pytest.fixture
def test_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = dict(CATALOG)
    catalog["customer.created"] = WebhookType("customer.created", "customer", _thing_payload)
    catalog["credit_note.provider_refund_failure"] = WebhookType(
        "credit_note.provider_refund_failure",
        "credit_note_payment_provider_refund_error",
        _thing_payload,
        wire_name="credit_note.refund_failure",
    )
    monkeypatch.setattr(emitter, "CATALOG", MappingProxyType(catalog))


def _emit(runtime, org, webhook_type="customer.created", obj=None) -> int:
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        return emitter.emit(ctx, webhook_type, obj or Thing())


def _webhooks(runtime):
    with runtime.db.session() as session:
        return session.scalars(select(Webhook).order_by(Webhook.created_at, Webhook.id)).all()


def _attempts(runtime):
    with runtime.db.session() as session:
        return session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.attempted_at)).all()


def test_no_endpoint_no_webhook(runtime, org, test_catalog):
    assert _emit(runtime, org) == 0
    assert _webhooks(runtime) == []


def test_jwt_and_hmac_delivery(runtime, org, api, httpserver: HTTPServer, test_catalog):
    got: list[Request] = []

    def handler(request: Request) -> Response:
        got.append(request)
        return Response("ok", status=200)

    httpserver.expect_request("/jwt", method="POST").respond_with_handler(handler)
    httpserver.expect_request("/hmac", method="POST").respond_with_handler(handler)
    api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": httpserver.url_for("/jwt")}})
    api.post(
        "/webhook_endpoints",
        {"webhook_endpoint": {"webhook_url": httpserver.url_for("/hmac"), "signature_algo": "hmac"}},
    )
    thing = Thing()
    assert _emit(runtime, org, obj=thing) == 2
    runtime.worker.drain()
    assert len(got) == 2
    by_path = {r.path: r for r in got}
    expected_body = {
        "webhook_type": "customer.created",
        "object_type": "customer",
        "organization_id": str(org.id),
        "customer": {"lago_id": str(thing.id), "name": "thing é"},
    }
    pem = base64.b64decode(api.get("/webhooks/json_public_key").json()["webhook"]["public_key"])
    jwt_req = by_path["/jwt"]
    raw = jwt_req.get_data()
    assert json.loads(raw) == expected_body
    assert list(json.loads(raw)) == ["webhook_type", "object_type", "organization_id", "customer"]
    assert jwt_req.headers["X-Lago-Signature-Algorithm"] == "jwt"
    claims = jwt.decode(
        jwt_req.headers["X-Lago-Signature"], pem, algorithms=["RS256"], issuer="http://billow.test"
    )
    assert claims["data"] == raw.decode("utf-8")
    hmac_req = by_path["/hmac"]
    assert hmac_req.headers["X-Lago-Signature-Algorithm"] == "hmac"
    expected_sig = base64.b64encode(
        hmac.new(org.hmac_key.encode(), hmac_req.get_data(), hashlib.sha256).digest()
    )
    assert hmac_req.headers["X-Lago-Signature"] == expected_sig.decode()
    keys = {r.headers["X-Lago-Unique-Key"] for r in got}
    assert len(keys) == 2
    assert {str(w.id) for w in _webhooks(runtime)} == keys
    assert {w.status for w in _webhooks(runtime)} == {"succeeded"}


def test_public_key_text_endpoint(api):
    text = api.get("/webhooks/public_key").text
    lines = text.split("\n")
    assert lines[-1] == ""
    assert all(len(line) == 60 for line in lines[:-2])
    pem = base64.b64decode(text)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert base64.b64decode(api.get("/webhooks/json_public_key").json()["webhook"]["public_key"]) == pem


def test_event_type_filter_and_refund_failure_quirk(runtime, org, api, httpserver: HTTPServer, test_catalog):
    httpserver.expect_request("/a").respond_with_data("ok")
    httpserver.expect_request("/b").respond_with_data("ok")
    api.post(
        "/webhook_endpoints",
        {"webhook_endpoint": {"webhook_url": httpserver.url_for("/a"), "event_types": ["invoice.created"]}},
    )
    api.post(
        "/webhook_endpoints",
        {
            "webhook_endpoint": {
                "webhook_url": httpserver.url_for("/b"),
                "event_types": ["credit_note.refund_failure"],
            }
        },
    )
    assert _emit(runtime, org, "customer.created") == 0
    assert _emit(runtime, org, "credit_note.provider_refund_failure") == 1
    runtime.worker.drain()
    (w,) = _webhooks(runtime)
    assert w.webhook_type == "credit_note.refund_failure"
    assert json.loads(w.payload)["webhook_type"] == "credit_note.refund_failure"
    assert w.status == "succeeded"


def test_failures_retry_with_backoff_on_the_clock_then_fail(
    runtime, org, api, httpserver: HTTPServer, test_catalog
):
    runtime.settings.webhook_max_attempts = 3
    httpserver.expect_request("/down").respond_with_data("nope", status=500)
    api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": httpserver.url_for("/down")}})
    _emit(runtime, org)
    runtime.worker.drain()
    (w,) = _webhooks(runtime)
    assert (w.status, w.retries, w.http_status, w.response) == ("retrying", 1, 500, "nope")
    # First retry ~30 s later (base 30 s, up to 10 % jitter): not before.
    runtime.clock.set(runtime.clock.now() + timedelta(seconds=29))
    runtime.worker.drain()
    assert len(_attempts(runtime)) == 1
    runtime.clock.set(runtime.clock.now() + timedelta(seconds=5))
    runtime.worker.drain()
    assert len(_attempts(runtime)) == 2
    runtime.clock.set(runtime.clock.now() + timedelta(seconds=67))
    runtime.worker.drain()
    (w,) = _webhooks(runtime)
    assert (w.status, w.retries) == ("failed", 3)
    attempts = _attempts(runtime)
    assert [a.http_status for a in attempts] == [500, 500, 500]
    assert not any(a.succeeded for a in attempts)
    runtime.clock.set(runtime.clock.now() + timedelta(days=2))
    runtime.worker.drain()
    assert len(_attempts(runtime)) == 3


def test_redirect_and_timeout_are_failures(runtime, org, api, httpserver: HTTPServer, test_catalog):
    httpserver.expect_request("/moved").respond_with_data("", status=302, headers={"Location": "/elsewhere"})
    api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": httpserver.url_for("/moved")}})
    api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": "http://127.0.0.1:9/refused"}})
    _emit(runtime, org)
    runtime.worker.drain()
    ws = {w.endpoint: w for w in _webhooks(runtime)}
    assert ws[httpserver.url_for("/moved")].http_status == 302
    assert ws[httpserver.url_for("/moved")].status == "retrying"
    refused = ws["http://127.0.0.1:9/refused"]
    assert refused.http_status is None
    assert refused.status == "retrying"
    assert refused.response and refused.response.startswith("ConnectError")


def test_list_inspect_and_manual_retry(runtime, org, api, other_api, httpserver: HTTPServer, test_catalog):
    runtime.settings.webhook_max_attempts = 1
    state = {"up": False}

    def handler(request: Request) -> Response:
        return Response("ok", status=200) if state["up"] else Response("down", status=503)

    httpserver.expect_request("/flaky").respond_with_handler(handler)
    api.post("/webhook_endpoints", {"webhook_endpoint": {"webhook_url": httpserver.url_for("/flaky")}})
    _emit(runtime, org)
    runtime.worker.drain()
    listed = api.get("/webhooks", status="failed").json()
    assert listed["meta"]["total_count"] == 1
    wid = listed["webhooks"][0]["lago_id"]
    assert listed["webhooks"][0]["payload"]["webhook_type"] == "customer.created"
    assert other_api.get(f"/webhooks/{wid}").status_code == 404
    assert other_api.post(f"/webhooks/{wid}/retry").status_code == 404
    state["up"] = True
    r = api.post(f"/webhooks/{wid}/retry")
    assert r.status_code == 200
    runtime.worker.drain()
    detail = api.get(f"/webhooks/{wid}").json()["webhook"]
    assert detail["status"] == "succeeded"
    assert [(a["http_status"], a["manual"]) for a in detail["attempts"]] == [(503, False), (200, True)]
    r = api.post(f"/webhooks/{wid}/retry")
    assert r.status_code == 405
    assert r.json() == {"status": 405, "error": "Method Not Allowed", "code": "is_succeeded"}


def test_deleting_endpoint_deletes_its_history(runtime, org, api, httpserver: HTTPServer, test_catalog):
    httpserver.expect_request("/x").respond_with_data("ok")
    ep = api.post(
        "/webhook_endpoints", {"webhook_endpoint": {"webhook_url": httpserver.url_for("/x")}}
    ).json()
    _emit(runtime, org)
    api.delete(f"/webhook_endpoints/{ep['webhook_endpoint']['lago_id']}")
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Webhook)) == 0
    runtime.worker.drain()  # the queued delivery finds nothing and finishes quietly
