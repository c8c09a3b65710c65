from __future__ import annotations


def test_health(app_client):
    r = app_client.get("/health")
    assert r.status_code == 200


def test_missing_key_is_401(app_client):
    r = app_client.get("/api/v1/organizations")
    assert r.status_code == 401
    assert r.json() == {"status": 401, "error": "Unauthorized"}


def test_unknown_key_is_401(app_client):
    r = app_client.get("/api/v1/organizations", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json() == {"status": 401, "error": "Unauthorized"}


def test_get_organization(api, org):
    r = api.get("/organizations")
    assert r.status_code == 200, r.text
    body = r.json()["organization"]
    assert body["lago_id"] == str(org.id)
    assert body["name"] == "Acme"
    assert "hmac_key" not in body
