"""Usage events through ``lago_python_client``: create, batch_create, find, deduplication."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models import BatchEvent, BillableMetric, Event

from tests.support.openapi import assert_response_matches_openapi

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
TS = 1700000000  # 2023-11-14T22:13:20Z
TS_ISO = "2023-11-14T22:13:20.000Z"
DUPLICATE = {
    "status": 422,
    "error": "Unprocessable Entity",
    "code": "validation_errors",
    "error_details": {"transaction_id": ["value_already_exist"]},
}


def _tx(prefix: str = "tx") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _check_generated(body: dict[str, Any]) -> dict[str, Any]:
    assert str(uuid.UUID(body["lago_id"])) == body["lago_id"]
    assert ISO_Z.match(body["created_at"]), body["created_at"]
    return {k: v for k, v in body.items() if k not in ("lago_id", "created_at")}


def test_create_and_find_event(client: Client, http: httpx.Client) -> None:
    tx = _tx()
    created = client.events.create(
        Event(
            transaction_id=tx,
            external_subscription_id="sub_compat_1",
            code="storage",
            timestamp=TS,
            properties={"gb": 10, "region": "eu"},
            precise_total_amount_cents="1234.56",
        )
    )
    assert created is not None
    assert _check_generated(created.dict()) == {
        "transaction_id": tx,
        "lago_customer_id": None,
        "lago_subscription_id": None,
        "external_subscription_id": "sub_compat_1",
        "code": "storage",
        "timestamp": TS_ISO,
        "precise_total_amount_cents": "1234.56",
        "properties": {"gb": 10, "region": "eu"},
    }

    found = client.events.find(tx)
    assert found.dict() == created.dict()

    raw = http.get(f"/events/{tx}")
    assert raw.status_code == 200
    assert_response_matches_openapi(raw, "/events/{transaction_id}")
    assert raw.json()["event"]["lago_id"] == created.lago_id


def test_timestamps(client: Client, http: httpx.Client) -> None:
    fractional = client.events.create(
        Event(transaction_id=_tx(), external_subscription_id="sub_ts", code="c", timestamp="1700000000.5")
    )
    assert fractional is not None
    assert fractional.timestamp == "2023-11-14T22:13:20.500Z"
    assert fractional.properties == {}
    assert fractional.precise_total_amount_cents is None

    # No timestamp: the time of reception.
    now = client.events.create(Event(transaction_id=_tx(), external_subscription_id="sub_ts", code="c"))
    assert now is not None and ISO_Z.match(now.timestamp)

    bad = http.post(
        "/events",
        json={
            "event": {
                "transaction_id": _tx(),
                "external_subscription_id": "s",
                "code": "c",
                "timestamp": "2024-01-01",
            }
        },
    )
    assert bad.status_code == 422
    assert_response_matches_openapi(bad, "/events")
    assert bad.json()["error_details"] == {"timestamp": ["invalid_format"]}


def test_raw_create_matches_openapi(http: httpx.Client) -> None:
    tx = _tx("raw")
    r = http.post(
        "/events",
        json={
            "event": {
                "transaction_id": tx,
                "external_subscription_id": "sub_raw",
                "code": "api",
                "timestamp": TS,
            }
        },
    )
    assert r.status_code == 200, r.text
    assert_response_matches_openapi(r, "/events")
    assert r.json()["event"]["transaction_id"] == tx
    assert r.json()["event"]["lago_customer_id"] is None

    missing = http.post("/events", json={"event": {"external_subscription_id": "s", "code": "c"}})
    assert missing.status_code == 422
    assert_response_matches_openapi(missing, "/events")
    assert missing.json()["error_details"] == {"transaction_id": ["value_is_mandatory"]}


def test_batch_create(client: Client, http: httpx.Client) -> None:
    txs = [_tx("batch") for _ in range(3)]
    result = client.events.batch_create(
        BatchEvent(
            events=[
                Event(
                    transaction_id=tx,
                    external_subscription_id="sub_batch",
                    code="api",
                    timestamp=TS + i,
                    properties={"n": i},
                )
                for i, tx in enumerate(txs)
            ]
        )
    )
    assert result is None  # the client discards the body
    for i, tx in enumerate(txs):
        found = client.events.find(tx)
        assert found.transaction_id == tx
        assert found.external_subscription_id == "sub_batch"
        assert found.code == "api"
        assert found.timestamp == f"2023-11-14T22:13:2{i}.000Z"
        assert found.properties == {"n": i}

    raw_txs = [_tx("rawbatch") for _ in range(2)]
    raw = http.post(
        "/events/batch",
        json={
            "events": [
                {
                    "transaction_id": tx,
                    "external_subscription_id": "sub_batch",
                    "code": "api",
                    "timestamp": TS,
                }
                for tx in raw_txs
            ]
        },
    )
    assert raw.status_code == 200, raw.text
    assert_response_matches_openapi(raw, "/events/batch")
    assert [e["transaction_id"] for e in raw.json()["events"]] == raw_txs


def test_duplicate_transaction_id_is_rejected(client: Client, http: httpx.Client) -> None:
    tx = _tx("dup")
    event = Event(transaction_id=tx, external_subscription_id="sub_dup", code="api", timestamp=TS)
    first = client.events.create(event)
    assert first is not None

    with pytest.raises(LagoApiError) as excinfo:
        client.events.create(event)
    assert excinfo.value.status_code == 422
    assert excinfo.value.response == DUPLICATE

    raw = http.post(
        "/events",
        json={"event": {"transaction_id": tx, "external_subscription_id": "sub_dup", "code": "api"}},
    )
    assert raw.status_code == 422
    assert_response_matches_openapi(raw, "/events")
    assert raw.json() == DUPLICATE

    # Deduplication is per subscription: the same transaction id elsewhere is another event.
    other = client.events.create(
        Event(transaction_id=tx, external_subscription_id="sub_dup_other", code="api")
    )
    assert other is not None and other.lago_id != first.lago_id


def test_batch_with_a_duplicate_is_rejected_whole(client: Client) -> None:
    existing = _tx("exists")
    client.events.create(
        Event(transaction_id=existing, external_subscription_id="sub_b", code="api", timestamp=TS)
    )
    fresh = _tx("fresh")
    with pytest.raises(LagoApiError) as excinfo:
        client.events.batch_create(
            BatchEvent(
                events=[
                    Event(transaction_id=fresh, external_subscription_id="sub_b", code="api", timestamp=TS),
                    Event(
                        transaction_id=existing, external_subscription_id="sub_b", code="api", timestamp=TS
                    ),
                ]
            )
        )
    assert excinfo.value.status_code == 422
    assert excinfo.value.response == {
        "status": 422,
        "error": "Unprocessable Entity",
        "code": "validation_errors",
        "error_details": {"1": {"transaction_id": ["value_already_exist"]}},
    }
    # Nothing of the batch was stored.
    with pytest.raises(LagoApiError) as missing:
        client.events.find(fresh)
    assert missing.value.status_code == 404


def test_unknown_event_is_404(client: Client) -> None:
    with pytest.raises(LagoApiError) as excinfo:
        client.events.find("never-sent")
    assert excinfo.value.status_code == 404
    # The OpenAPI document lists no 404 for GET /events/{transaction_id}; Lago's code sends this body.
    assert excinfo.value.response == {"status": 404, "error": "Not Found", "code": "event_not_found"}


def test_expression_result_is_stored_in_field_name(client: Client) -> None:
    code = f"compute_{uuid.uuid4().hex[:6]}"
    client.billable_metrics.create(
        BillableMetric(
            name="CPU hours",
            code=code,
            aggregation_type="sum_agg",
            field_name="cpu_hours",
            expression="event.properties.cpu * event.properties.hours",
        )
    )
    created = client.events.create(
        Event(
            transaction_id=_tx("expr"),
            external_subscription_id="sub_expr",
            code=code,
            timestamp=TS,
            properties={"cpu": 2, "hours": "1.5", "cpu_hours": 999},
        )
    )
    assert created is not None
    # The expression's result overwrites the property, as a decimal string.
    assert created.properties == {"cpu": 2, "hours": "1.5", "cpu_hours": "3.0"}


def test_list_events_matches_openapi(http: httpx.Client) -> None:
    sub = f"sub_list_{uuid.uuid4().hex[:6]}"
    txs = [_tx("list") for _ in range(3)]
    for i, tx in enumerate(txs):
        r = http.post(
            "/events",
            json={
                "event": {
                    "transaction_id": tx,
                    "external_subscription_id": sub,
                    "code": "api",
                    "timestamp": TS + i,
                }
            },
        )
        assert r.status_code == 200, r.text

    page = http.get("/events", params={"external_subscription_id": sub, "per_page": 2})
    assert page.status_code == 200, page.text
    assert_response_matches_openapi(page, "/events")
    # Newest first.
    assert [e["transaction_id"] for e in page.json()["events"]] == [txs[2], txs[1]]
    assert page.json()["meta"] == {
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
        "total_pages": 2,
        "total_count": 3,
    }
    last = http.get("/events", params={"external_subscription_id": sub, "per_page": 2, "page": 2})
    assert [e["transaction_id"] for e in last.json()["events"]] == [txs[0]]
