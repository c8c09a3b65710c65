"""Webhook endpoints, the JWT public key and signed deliveries, through ``lago_python_client``."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models import Customer, WebhookEndpoint

from tests.support.live_server import LiveServer, OrgCredentials
from tests.support.openapi import (
    assert_matches_schema,
    assert_matches_webhook,
    assert_response_matches_openapi,
)
from tests.support.webhook_receiver import ReceivedWebhook, WebhookReceiver, verify_hmac, verify_jwt

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ENDPOINT_KEYS = [
    "lago_id",
    "lago_organization_id",
    "webhook_url",
    "signature_algo",
    "name",
    "event_types",
    "created_at",
]


def _uuid(value: str) -> str:
    assert str(uuid.UUID(value)) == value, value
    return value


@pytest.fixture(scope="module")
def org(server: LiveServer) -> OrgCredentials:
    """Overrides the per-module organization: this module uses the bootstrap one, whose API key
    and HMAC key are BILLOW_ORG_API_KEY and BILLOW_ORG_HMAC_KEY."""
    bootstrap = server.bootstrap_org()
    assert bootstrap.api_key == server.api_key
    assert bootstrap.hmac_key == server.hmac_key
    return bootstrap


@pytest.fixture(scope="module")
def org_id(http: httpx.Client, org: OrgCredentials) -> str:
    r = http.get("/organizations")
    assert r.status_code == 200, r.text
    assert r.json()["organization"]["lago_id"] == org.id
    return _uuid(org.id)


@pytest.fixture(scope="module")
def public_key_pem(client: Client) -> bytes:
    return client.webhooks.public_key()


def test_public_key(client: Client, http: httpx.Client, public_key_pem: bytes) -> None:
    assert public_key_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert public_key_pem.endswith(b"-----END PUBLIC KEY-----\n")

    r = http.get("/webhooks/json_public_key")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert_response_matches_openapi(r, "/webhooks/json_public_key")
    encoded = r.json()["webhook"]["public_key"]
    assert base64.b64decode(encoded) == public_key_pem
    # Ruby's Base64.encode64: 60 characters per line, each line ends with a newline.
    assert encoded.endswith("\n")
    assert all(len(line) <= 60 for line in encoded.splitlines())

    legacy = http.get("/webhooks/public_key")
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("text/plain")
    assert_response_matches_openapi(legacy, "/webhooks/public_key")
    assert legacy.text == encoded


def test_public_key_needs_api_key(server: LiveServer) -> None:
    r = httpx.get(server.api_v1 + "/webhooks/json_public_key", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json() == {"status": 401, "error": "Unauthorized"}
    assert_response_matches_openapi(r, "/webhooks/json_public_key")


def test_webhook_endpoint_crud(
    client: Client, http: httpx.Client, receiver: WebhookReceiver, org_id: str
) -> None:
    url = receiver.url("/crud")
    created = client.webhook_endpoints.create(
        WebhookEndpoint(
            webhook_url=url,
            signature_algo="hmac",
            name="CRUD endpoint",
            event_types=["Invoice.Created", " customer.created", "invoice.created"],
        )
    )
    assert created is not None
    lago_id = _uuid(created.lago_id)
    assert created.lago_organization_id == org_id
    assert created.webhook_url == url
    assert created.signature_algo == "hmac"
    assert created.name == "CRUD endpoint"
    # Trimmed, lower-cased, de-duplicated, order kept.
    assert created.event_types == ["invoice.created", "customer.created"]
    assert ISO_Z.match(created.created_at)

    found = client.webhook_endpoints.find(lago_id)
    assert found == created

    raw = http.get(f"/webhook_endpoints/{lago_id}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/webhook_endpoints/{lago_id}")
    assert list(raw.json()["webhook_endpoint"]) == ENDPOINT_KEYS
    assert raw.json()["webhook_endpoint"] == created.dict()

    listed = client.webhook_endpoints.find_all({"per_page": 100})
    assert created in listed["webhook_endpoints"]
    raw_list = http.get("/webhook_endpoints", params={"per_page": 100})
    assert raw_list.status_code == 200
    assert_response_matches_openapi(raw_list, "/webhook_endpoints")
    meta = raw_list.json()["meta"]
    total = len(raw_list.json()["webhook_endpoints"])
    assert meta == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": total,
    }
    assert listed["meta"] == meta

    updated = client.webhook_endpoints.update(
        WebhookEndpoint(webhook_url=url, signature_algo="jwt", name="Renamed", event_types=["*"]), lago_id
    )
    assert updated.lago_id == lago_id
    assert updated.signature_algo == "jwt"
    assert updated.name == "Renamed"
    assert updated.event_types is None
    assert updated.created_at == created.created_at

    raw_put = http.put(
        f"/webhook_endpoints/{lago_id}",
        json={"webhook_endpoint": {"webhook_url": url, "event_types": ["customer.updated"]}},
    )
    assert raw_put.status_code == 200
    assert_response_matches_openapi(raw_put, "/webhook_endpoints/{lago_id}")
    assert raw_put.json()["webhook_endpoint"]["event_types"] == ["customer.updated"]

    deleted = client.webhook_endpoints.destroy(lago_id)
    assert deleted.lago_id == lago_id
    assert deleted.webhook_url == url

    with pytest.raises(LagoApiError) as excinfo:
        client.webhook_endpoints.find(lago_id)
    assert excinfo.value.status_code == 404
    assert excinfo.value.response == {
        "status": 404,
        "error": "Not Found",
        "code": "webhook_endpoint_not_found",
    }
    gone = http.delete(f"/webhook_endpoints/{lago_id}")
    assert gone.status_code == 404
    assert_response_matches_openapi(gone, "/webhook_endpoints/{lago_id}")


def test_webhook_endpoint_validation_errors(
    client: Client, http: httpx.Client, receiver: WebhookReceiver
) -> None:
    with pytest.raises(LagoApiError) as excinfo:
        client.webhook_endpoints.create(WebhookEndpoint(webhook_url="not a url"))
    assert excinfo.value.status_code == 422
    assert excinfo.value.response == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {"webhook_url": ["url_is_invalid"]},
    }

    url = receiver.url("/dup")
    first = http.post("/webhook_endpoints", json={"webhook_endpoint": {"webhook_url": url}})
    assert first.status_code == 200
    assert_response_matches_openapi(first, "/webhook_endpoints")
    assert first.json()["webhook_endpoint"]["signature_algo"] == "jwt"  # the default
    assert first.json()["webhook_endpoint"]["name"] is None
    dup = http.post("/webhook_endpoints", json={"webhook_endpoint": {"webhook_url": url}})
    assert dup.status_code == 422
    assert_response_matches_openapi(dup, "/webhook_endpoints")
    assert dup.json()["error_details"] == {"webhook_url": ["value_already_exist"]}
    bad_types = http.post(
        "/webhook_endpoints",
        json={"webhook_endpoint": {"webhook_url": receiver.url("/bad"), "event_types": ["nope.nope"]}},
    )
    assert bad_types.status_code == 422
    assert bad_types.json()["error_details"] == {"event_types": ["contains invalid types: nope.nope"]}
    missing_root = http.post("/webhook_endpoints", json={"webhook_url": url})
    assert missing_root.status_code == 400
    assert_response_matches_openapi(missing_root, "/webhook_endpoints")
    assert missing_root.json() == {
        "status": 400,
        "error": "BadRequest: param is missing or the value is empty or invalid: webhook_endpoint",
    }
    removed = http.delete(f"/webhook_endpoints/{first.json()['webhook_endpoint']['lago_id']}")
    assert removed.status_code == 200
    assert_response_matches_openapi(removed, "/webhook_endpoints/{lago_id}")
    assert removed.json()["webhook_endpoint"] == first.json()["webhook_endpoint"]


def _envelope(hook: ReceivedWebhook) -> dict[str, Any]:
    body = hook.json()
    assert isinstance(body, dict)
    return body


def test_customer_webhooks_are_delivered_and_signed(
    client: Client,
    server: LiveServer,
    receiver: WebhookReceiver,
    org_id: str,
    public_key_pem: bytes,
) -> None:
    jwt_endpoint = client.webhook_endpoints.create(
        WebhookEndpoint(webhook_url=receiver.url("/jwt"), signature_algo="jwt", name="JWT receiver")
    )
    hmac_endpoint = client.webhook_endpoints.create(
        WebhookEndpoint(webhook_url=receiver.url("/hmac"), signature_algo="hmac", name="HMAC receiver")
    )
    assert jwt_endpoint is not None and jwt_endpoint.signature_algo == "jwt"
    assert hmac_endpoint is not None and hmac_endpoint.signature_algo == "hmac"

    external_id = f"cust-wh-{uuid.uuid4().hex[:8]}"
    created = client.customers.create(Customer(external_id=external_id, name="Ada Lovelace"))
    updated = client.customers.create(Customer(external_id=external_id, name="Ada King"))
    assert created is not None and updated is not None
    assert updated.lago_id == created.lago_id

    def about_this_customer(hook: ReceivedWebhook) -> bool:
        customer = _envelope(hook).get("customer") or {}
        return customer.get("external_id") == external_id

    messages: dict[tuple[str, str], ReceivedWebhook] = {}
    for path in ("/jwt", "/hmac"):
        for webhook_type in ("customer.created", "customer.updated"):
            [hook] = receiver.wait_exactly(webhook_type, 1, path=path, match=about_this_customer)
            messages[(path, webhook_type)] = hook

    unique_keys = set()
    for (path, webhook_type), hook in messages.items():
        assert hook.method == "POST"
        assert hook.headers["content-type"] == "application/json"
        unique_key = hook.headers["x-lago-unique-key"]
        assert str(uuid.UUID(unique_key)) == unique_key
        unique_keys.add(unique_key)

        if path == "/jwt":
            claims = verify_jwt(hook.headers, hook.body, public_key_pem, server.issuer)
            assert claims == {"data": hook.body.decode("utf-8"), "iss": server.issuer}
        else:
            verify_hmac(hook.headers, hook.body, server.hmac_key)

        envelope = _envelope(hook)
        assert list(envelope) == ["webhook_type", "object_type", "organization_id", "customer"]
        assert envelope["webhook_type"] == webhook_type
        assert envelope["object_type"] == "customer"
        assert envelope["organization_id"] == org_id
        customer = envelope["customer"]
        assert customer["lago_id"] == created.lago_id
        assert customer["external_id"] == external_id
        assert customer["name"] == ("Ada Lovelace" if webhook_type == "customer.created" else "Ada King")
        assert customer["created_at"] == created.created_at
        assert_matches_schema("CustomerObject", customer)
        assert_matches_webhook(webhook_type, envelope)
    assert len(unique_keys) == 4

    # Serialized once when emitted: both endpoints receive the very same bytes.
    for webhook_type in ("customer.created", "customer.updated"):
        assert messages[("/jwt", webhook_type)].body == messages[("/hmac", webhook_type)].body

    # A signature made for one body never verifies another.
    tampered = messages[("/hmac", "customer.created")].body.replace(b"Ada", b"Bob")
    with pytest.raises(AssertionError):
        verify_hmac(messages[("/hmac", "customer.created")].headers, tampered, server.hmac_key)
    with pytest.raises(AssertionError):
        verify_jwt(messages[("/jwt", "customer.created")].headers, tampered, public_key_pem, server.issuer)


def test_event_types_filter_limits_deliveries(client: Client, receiver: WebhookReceiver) -> None:
    only_updates = client.webhook_endpoints.create(
        WebhookEndpoint(
            webhook_url=receiver.url("/only-updates"), signature_algo="hmac", event_types=["customer.updated"]
        )
    )
    assert only_updates is not None
    external_id = f"cust-filter-{uuid.uuid4().hex[:8]}"
    client.customers.create(Customer(external_id=external_id, name="First"))
    client.customers.create(Customer(external_id=external_id, name="Second"))

    def about_this_customer(hook: ReceivedWebhook) -> bool:
        return (_envelope(hook).get("customer") or {}).get("external_id") == external_id

    [hook] = receiver.wait_exactly(None, 1, path="/only-updates", match=about_this_customer)
    assert hook.webhook_type == "customer.updated"
    client.webhook_endpoints.destroy(only_updates.lago_id)
