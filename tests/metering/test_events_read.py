"""GET /events (filters, order, pagination) and GET /events/{transaction_id}."""

from __future__ import annotations

import pytest

from tests.metering.helpers import errors


@pytest.fixture
def seeded(api):
    events = [
        {"transaction_id": "t1", "code": "a", "external_subscription_id": "s1", "timestamp": 1704067200},
        {"transaction_id": "t2", "code": "b", "external_subscription_id": "s1", "timestamp": 1704153600},
        {"transaction_id": "t3", "code": "a", "external_subscription_id": "s2", "timestamp": 1704153600},
        {"transaction_id": "t0", "code": "a", "external_subscription_id": "s2", "timestamp": 1704240000},
    ]
    r = api.post("/events/batch", {"events": events})
    assert r.status_code == 200, r.text
    return {e["transaction_id"]: e for e in r.json()["events"]}


def txs(response):
    assert response.status_code == 200, response.text
    return [e["transaction_id"] for e in response.json()["events"]]


def test_list_order_and_meta(api, seeded):
    r = api.get("/events")
    assert txs(r) == ["t0", "t2", "t3", "t1"]
    assert r.json()["events"][0] == seeded["t0"]
    assert r.json()["meta"] == {
        "current_page": 1,
        "next_page": None,
        "prev_page": None,
        "total_pages": 1,
        "total_count": 4,
    }
    r = api.get("/events", page=2, per_page=3)
    assert txs(r) == ["t1"]
    assert r.json()["meta"] == {
        "current_page": 2,
        "next_page": None,
        "prev_page": 1,
        "total_pages": 2,
        "total_count": 4,
    }


def test_list_filters(api, seeded):
    assert txs(api.get("/events", code="a")) == ["t0", "t3", "t1"]
    assert txs(api.get("/events", external_subscription_id="s1")) == ["t2", "t1"]
    assert txs(api.get("/events", timestamp_from="2024-01-02T00:00:00Z")) == ["t0", "t2", "t3"]
    assert txs(api.get("/events", timestamp_to="2024-01-02T00:00:00Z")) == ["t2", "t3", "t1"]
    assert txs(
        api.get("/events", timestamp_from="2024-01-02", timestamp_to="2024-01-02T00:00:00Z", code="a")
    ) == ["t3"]
    assert txs(api.get("/events", external_subscription_id="s2", timestamp_from_started_at="false")) == [
        "t0",
        "t3",
    ]


def test_timestamp_from_started_at_has_no_bound_without_subscriptions(api, seeded):
    # Subscriptions do not exist yet: as in Lago when the subscription is not found, no lower bound.
    assert txs(api.get("/events", external_subscription_id="s2", timestamp_from_started_at="true")) == [
        "t0",
        "t3",
    ]


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({"timestamp_from": "yesterday"}, {"timestamp_from": ["invalid_date"]}),
        ({"timestamp_to": "2024-13-01"}, {"timestamp_to": ["invalid_date"]}),
        (
            {"timestamp_from_started_at": "yes"},
            {"timestamp_from_started_at": ["must be one of: true, false"]},
        ),
        (
            {"timestamp_from_started_at": "true"},
            {"external_subscription_id": ["required with timestamp_from_started_at"]},
        ),
        (
            {"timestamp_from_started_at": "true", "timestamp_from": "2024-01-01T00:00:00Z"},
            {
                "timestamp_from": ["cannot be used with timestamp_from_started_at"],
                "external_subscription_id": ["required with timestamp_from_started_at"],
            },
        ),
        (
            {
                "timestamp_from_started_at": "true",
                "timestamp_from": "2024-01-01",
                "external_subscription_id": "s",
            },
            {"timestamp_from": ["cannot be used with timestamp_from_started_at"]},
        ),
    ],
)
def test_list_filter_errors(api, params, details):
    assert errors(api.get("/events", **params)) == details


def test_empty_list(api):
    assert api.get("/events").json() == {
        "events": [],
        "meta": {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0},
    }


def test_get_by_transaction_id(api, seeded):
    r = api.get("/events/t2")
    assert r.status_code == 200
    assert r.json() == {"event": seeded["t2"]}


def test_get_with_url_encoded_transaction_id(api):
    api.post("/events", {"event": {"transaction_id": "a b?c#d", "code": "c"}})
    r = api.get("/events/a%20b%3Fc%23d")
    assert r.json()["event"]["transaction_id"] == "a b?c#d"


def test_other_organization_sees_nothing(api, other_api, seeded):
    assert other_api.get("/events/t1").json() == {
        "status": 404,
        "error": "Not Found",
        "code": "event_not_found",
    }
    assert other_api.get("/events").json()["events"] == []
    assert api.get("/events/unknown").status_code == 404
