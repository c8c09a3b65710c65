"""POST /events: exact Event object, timestamp parsing, dedupe, expressions, errors (nothing stored)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from billow.api.app import create_app
from tests.metering.helpers import counts, create_metric, errors, stored_events
from tests.support.api import Api


def send(api, **event):
    return api.post("/events", {"event": event})


def test_exact_event_object(api):
    r = send(
        api,
        transaction_id="tx_1",
        external_subscription_id="sub_1",
        code="storage",
        timestamp=1780586634,
        properties={"gb": 10, "region": "eu"},
        precise_total_amount_cents="1234.56",
    )
    assert r.status_code == 200, r.text
    event = r.json()["event"]
    lago_id = event.pop("lago_id")
    assert len(lago_id) == 36
    assert event == {
        "transaction_id": "tx_1",
        "lago_customer_id": None,
        "code": "storage",
        "timestamp": "2026-06-04T15:23:54.000Z",
        "precise_total_amount_cents": "1234.56",
        "properties": {"gb": 10, "region": "eu"},
        "lago_subscription_id": None,
        "external_subscription_id": "sub_1",
        "created_at": "2024-01-01T00:00:00Z",
    }
    assert list(r.json()["event"]) == [
        "lago_id",
        "transaction_id",
        "lago_customer_id",
        "code",
        "timestamp",
        "precise_total_amount_cents",
        "properties",
        "lago_subscription_id",
        "external_subscription_id",
        "created_at",
    ]


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("1780586634.1", "2026-06-04T15:23:54.100Z"),
        (1780586634, "2026-06-04T15:23:54.000Z"),
        (1780586634.123, "2026-06-04T15:23:54.123Z"),
        ("1780586634", "2026-06-04T15:23:54.000Z"),
        ("1780586634.9999", "2026-06-04T15:23:54.999Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (None, "2024-01-01T00:00:00.000Z"),
        (..., "2024-01-01T00:00:00.000Z"),
    ],
)
def test_timestamps(api, timestamp, expected):
    event = {"transaction_id": "t", "code": "c", "external_subscription_id": "s"}
    if timestamp is not ...:
        event["timestamp"] = timestamp
    r = api.post("/events", {"event": event})
    assert r.status_code == 200, r.text
    assert r.json()["event"]["timestamp"] == expected


def test_fraction_kept_to_the_microsecond(api, runtime):
    send(api, transaction_id="t", code="c", timestamp="1780586634.1234567")
    assert stored_events(runtime)[0].timestamp.microsecond == 123456


@pytest.mark.parametrize(
    "timestamp", ["", "2024-01-01T00:00:00Z", "abc", "NaN", "Infinity", True, {"a": 1}, [1]]
)
def test_invalid_timestamp(api, runtime, timestamp):
    r = send(api, transaction_id="t", code="c", timestamp=timestamp)
    assert errors(r) == {"timestamp": ["invalid_format"]}
    assert counts(runtime)["events"] == 0


def test_missing_fields(api, runtime):
    assert errors(send(api, code="c")) == {"transaction_id": ["value_is_mandatory"]}
    assert errors(send(api, transaction_id="  ", code="")) == {
        "transaction_id": ["value_is_mandatory"],
        "code": ["value_is_mandatory"],
    }
    assert errors(send(api, transaction_id={"a": 1}, code="c")) == {"transaction_id": ["value_is_mandatory"]}
    assert counts(runtime)["events"] == 0


def test_missing_root_is_400(api, runtime):
    for body in ({}, {"event": {}}, {"event": None}, {"events": [{"transaction_id": "t"}]}, {"event": "x"}):
        r = api.post("/events", body)
        assert r.status_code == 400, body
        assert r.json() == {
            "status": 400,
            "error": "BadRequest: param is missing or the value is empty or invalid: event",
        }
    assert api.raw("POST", "/events", b"{oops", {"Content-Type": "application/json"}).status_code == 400
    assert counts(runtime)["events"] == 0


def test_duplicate_is_422_and_not_stored_twice(api, runtime):
    assert send(api, transaction_id="t", code="c", external_subscription_id="s").status_code == 200
    r = send(api, transaction_id="t", code="other", external_subscription_id="s")
    assert errors(r) == {"transaction_id": ["value_already_exist"]}
    assert counts(runtime)["events"] == 1


def test_same_transaction_id_under_another_subscription_is_accepted(api, runtime):
    assert send(api, transaction_id="t", code="c", external_subscription_id="s1").status_code == 200
    assert send(api, transaction_id="t", code="c", external_subscription_id="s2").status_code == 200
    assert counts(runtime)["events"] == 2


def test_null_subscription_is_never_deduplicated(api, runtime):
    assert send(api, transaction_id="t", code="c").status_code == 200
    assert send(api, transaction_id="t", code="c").status_code == 200
    assert counts(runtime)["events"] == 2


def test_same_transaction_id_in_another_organization_is_accepted(api, other_api, runtime):
    assert send(api, transaction_id="t", code="c", external_subscription_id="s").status_code == 200
    assert send(other_api, transaction_id="t", code="c", external_subscription_id="s").status_code == 200
    assert counts(runtime)["events"] == 2


def test_unknown_code_is_accepted_and_stored(api, runtime):
    r = send(api, transaction_id="t", code="nobody_knows", properties={"gb": "3"})
    assert r.status_code == 200
    (stored,) = stored_events(runtime)
    assert (stored.code, stored.value, stored.value_text, stored.value_field) == (
        "nobody_knows",
        None,
        None,
        None,
    )


def test_scalars_are_coerced_to_text(api):
    r = send(api, transaction_id=123, code="c", external_subscription_id=45.5, properties="not an object")
    event = r.json()["event"]
    assert (event["transaction_id"], event["external_subscription_id"], event["properties"]) == (
        "123",
        "45.5",
        {},
    )


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("12.5", "12.5"),
        (100, "100.0"),
        ("abc", "0.0"),
        ("12abc", "12.0"),
        (None, None),
        ("", None),
        (0.1, "0.1"),
    ],
)
def test_precise_total_amount_cents(api, runtime, amount, expected):
    r = send(api, transaction_id="t", code="c", precise_total_amount_cents=amount)
    assert r.json()["event"]["precise_total_amount_cents"] == expected
    got = api.get("/events/t").json()["event"]["precise_total_amount_cents"]
    assert got == expected


def test_metric_value_columns(api, runtime):
    create_metric(api, field_name="gb")
    create_metric(api, code="calls", aggregation_type="count_agg")
    send(api, transaction_id="num", code="storage", properties={"gb": "12.50"})
    send(api, transaction_id="int", code="storage", properties={"gb": 7})
    send(api, transaction_id="neg", code="storage", properties={"gb": "-3"})
    send(api, transaction_id="exp", code="storage", properties={"gb": "1e3"})
    send(api, transaction_id="str", code="storage", properties={"gb": "lots"})
    send(api, transaction_id="none", code="storage", properties={"other": 1})
    send(api, transaction_id="count", code="calls", properties={"gb": 1})
    rows = {e.transaction_id: (e.value, e.value_text, e.value_field) for e in stored_events(runtime)}
    assert rows == {
        "num": (Decimal("12.50"), "12.50", "gb"),
        "int": (Decimal(7), "7", "gb"),
        "neg": (Decimal(-3), "-3", "gb"),
        "exp": (None, "1e3", "gb"),
        "str": (None, "lots", "gb"),
        "none": (None, None, "gb"),
        "count": (None, None, None),
    }


def test_deleted_metric_no_longer_shapes_events(api, runtime):
    create_metric(api, expression="event.properties.a * 2")
    api.delete("/billable_metrics/storage")
    r = send(api, transaction_id="t", code="storage", properties={"a": 1})
    assert r.json()["event"]["properties"] == {"a": 1}


def test_expression_writes_field_as_decimal_string_and_value(api, runtime):
    create_metric(
        api, field_name="total", expression="round(event.properties.gb * event.properties.price, 2)"
    )
    r = send(
        api, transaction_id="t", code="storage", properties={"gb": "3.333", "price": 2, "total": "client"}
    )
    assert r.json()["event"]["properties"] == {"gb": "3.333", "price": 2, "total": "6.67"}
    (stored,) = stored_events(runtime)
    assert stored.properties == {"gb": "3.333", "price": 2, "total": "6.67"}
    assert (stored.value, stored.value_text, stored.value_field) == (Decimal("6.67"), "6.67", "total")


def test_expression_sees_integer_seconds_and_code(api):
    create_metric(api, field_name="v", expression="concat(event.code, ':', event.timestamp)")
    r = send(api, transaction_id="t", code="storage", timestamp="1780586634.9")
    assert r.json()["event"]["properties"] == {"v": "storage:1780586634"}


def test_expression_integral_result_is_rendered_with_one_decimal(api):
    create_metric(api, field_name="v", expression="event.properties.a + 1")
    r = send(api, transaction_id="t", code="storage", properties={"a": 2})
    assert r.json()["event"]["properties"] == {"a": 2, "v": "3.0"}


def test_expression_failure_is_422_with_the_evaluator_message(api, runtime):
    create_metric(api, expression="event.properties.gb * 2")
    r = send(api, transaction_id="t", code="storage", properties={})
    assert errors(r) == "expression_evaluation_failed: Variable: gb not found"
    r = send(api, transaction_id="t", code="storage", properties={"gb": "x"})
    assert errors(r) == "expression_evaluation_failed: Expected a decimal"
    assert counts(runtime)["events"] == 0


def test_expression_applies_right_after_the_metric_is_created(api):
    send(api, transaction_id="before", code="storage", properties={"a": 1})
    create_metric(api, field_name="v", expression="event.properties.a * 10")
    r = send(api, transaction_id="after", code="storage", properties={"a": 1})
    assert r.json()["event"]["properties"] == {"a": 1, "v": "10.0"}
    api.put("/billable_metrics/storage", {"billable_metric": {"expression": "event.properties.a * 100"}})
    r = send(api, transaction_id="later", code="storage", properties={"a": 1})
    assert r.json()["event"]["properties"] == {"a": 1, "v": "100.0"}


def test_other_organizations_metric_does_not_apply(api, other_api):
    create_metric(other_api, field_name="v", expression="event.properties.a * 10")
    r = send(api, transaction_id="t", code="storage", properties={"a": 1})
    assert r.json()["event"]["properties"] == {"a": 1}


def test_events_queue_no_job_or_webhook(api, runtime):
    send(api, transaction_id="t", code="c")
    assert counts(runtime)["jobs"] == 0
    assert counts(runtime)["webhooks"] == 0


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/batch"])
def test_ingestion_needs_an_api_key(app_client, runtime, path):
    r = app_client.post(path, json={"event": {"transaction_id": "t", "code": "c"}})
    assert (r.status_code, r.json()) == (401, {"status": 401, "error": "Unauthorized"})
    r = app_client.post(path, json={}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert counts(runtime)["events"] == 0


def test_body_size_limit_applies(api, runtime):
    runtime.settings.max_body_bytes = 10  # read when the app is built: rebuild a client to apply it
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        r = Api(client, api.headers["Authorization"].split()[1]).post(
            "/events", {"event": {"transaction_id": "t" * 50}}
        )
    assert r.status_code == 413
    assert counts(runtime)["events"] == 0


def test_concurrent_single_events_are_all_stored_once(api, runtime):
    def post(i):
        return send(api, transaction_id=f"t{i % 40}", code="c", external_subscription_id="s").status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, range(80)))
    assert statuses.count(200) == 40
    assert statuses.count(422) == 40
    assert counts(runtime)["events"] == 40
