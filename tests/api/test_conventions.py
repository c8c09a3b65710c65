"""Error bodies shared by every route: 400, 401, 404, 405, 413, 422."""

from __future__ import annotations

from sqlalchemy import func, select

from billow.webhooks.models import WebhookEndpoint


def test_bad_json_is_400(api, runtime):
    r = api.raw("POST", "/webhook_endpoints", b'{"webhook_endpoint": {', {"content-type": "application/json"})
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"status", "error"}
    assert body["status"] == 400
    assert body["error"].startswith("BadRequest: ")
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_missing_root_key_is_400(api):
    expected = {
        "status": 400,
        "error": "BadRequest: param is missing or the value is empty or invalid: webhook_endpoint",
    }
    assert api.post("/webhook_endpoints", {"webhook_url": "https://h.test"}).json() == expected
    assert api.post("/webhook_endpoints", {"webhook_endpoint": {}}).json() == expected
    assert api.post("/webhook_endpoints", None).json() == expected
    assert api.post("/webhook_endpoints", [1, 2]).json() == expected


def test_unknown_route_is_404_resource_not_found(api):
    r = api.get("/does_not_exist")
    assert r.status_code == 404
    assert r.json() == {"status": 404, "error": "Not Found", "code": "resource_not_found"}


def test_body_over_limit_is_413(api, runtime):
    big = b'{"webhook_endpoint": {"name": "' + b"x" * (runtime.settings.max_body_bytes + 10) + b'"}}'
    r = api.raw("POST", "/webhook_endpoints", big, {"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"status": 413, "error": "Payload Too Large", "code": "payload_too_large"}


def test_docs_are_served(app_client):
    assert app_client.get("/docs").status_code == 200
    spec = app_client.get("/openapi.json").json()
    assert "/api/v1/webhook_endpoints" in spec["paths"]


def test_wrong_auth_scheme_token_second_word(app_client, org):
    r = app_client.get("/api/v1/organizations", headers={"Authorization": f"Token {org.api_key}"})
    assert r.status_code == 200
    r = app_client.get("/api/v1/organizations", headers={"Authorization": org.api_key})
    assert r.status_code == 401
