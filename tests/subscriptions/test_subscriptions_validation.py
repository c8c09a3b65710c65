"""Refused inputs: Lago's status and error body; nothing stored, no job, no webhook."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.subscriptions.helpers import (
    add_endpoint,
    counts,
    create_customer,
    create_plan,
    errors,
    move,
    ok,
    subscribe,
    subscribed,
)


@pytest.fixture
def catalog(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "pro", pay_in_advance=True)
    move(runtime, datetime(2024, 1, 10, tzinfo=UTC))


CASES = [
    ({"plan_code": "nope"}, 404, "plan_not_found"),
    ({"plan_code": None}, 404, "plan_not_found"),
    ({"billing_entity_code": "nope"}, 404, "billing_entity_not_found"),
    ({"subscription_at": "hello"}, 422, {"subscription_at": ["invalid_date"]}),
    ({"subscription_at": 12}, 422, {"subscription_at": ["invalid_date"]}),
    ({"ending_at": "2024-01-10T23:00:00Z"}, 422, {"ending_at": ["invalid_date"]}),
    (
        {"subscription_at": "2024-03-01T00:00:00Z", "ending_at": "2024-02-01T00:00:00Z"},
        422,
        {"ending_at": ["invalid_date"]},
    ),
    ({"ending_at": "soon"}, 422, {"ending_at": ["invalid_date"]}),
    ({"external_customer_id": " "}, 422, {"external_customer_id": ["value_is_mandatory"]}),
    ({"external_id": ""}, 422, {"external_id": ["value_is_mandatory"]}),
    ({"billing_time": "weekly"}, 422, {"billing_time": ["value_is_invalid"]}),
    ({"plan_overrides": {"amount_cents": -5}}, 422, None),
]


@pytest.mark.parametrize(("fields", "status", "expected"), CASES)
def test_refused_create_stores_and_queues_nothing(api, runtime, catalog, fields, status, expected):
    before = counts(runtime)
    response = subscribe(api, **fields)
    if expected is None:
        assert response.status_code == status, response.text
    else:
        assert errors(response, status) == expected
    assert counts(runtime) == before


def test_refused_create_does_not_keep_the_auto_created_customer(api, runtime, catalog):
    subscribed(api, "taken")
    before = counts(runtime)
    response = subscribe(api, "taken", external_customer_id="brand_new")
    assert errors(response) == {"external_id": ["value_already_exist"]}
    assert counts(runtime) == before
    assert api.get("/customers/brand_new").status_code == 404


def test_missing_root_key_is_400(api, runtime, catalog):
    response = api.post("/subscriptions", {"plan_code": "pro"})
    assert response.status_code == 400
    assert (
        response.json()["error"]
        == "BadRequest: param is missing or the value is empty or invalid: subscription"
    )


def test_refused_update_changes_nothing(api, runtime, catalog):
    subscribed(api, name="Kept")
    before = counts(runtime)
    for body, expected in (
        ({"ending_at": "2020-01-01T00:00:00Z"}, {"ending_at": ["invalid_date"]}),
        ({"subscription_at": "later"}, {"subscription_at": ["invalid_date"]}),
        ({"on_termination_invoice": "maybe"}, {"on_termination_invoice": ["invalid_value"]}),
        ({"on_termination_credit_note": "gift"}, {"on_termination_credit_note": ["invalid_value"]}),
    ):
        response = api.put("/subscriptions/sub_1", {"subscription": {"name": "Changed", **body}})
        assert errors(response) == expected
    assert counts(runtime) == before
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["name"] == "Kept"


def test_refused_termination_changes_nothing(api, runtime, catalog):
    subscribed(api)
    before = counts(runtime)
    response = api.delete("/subscriptions/sub_1", on_termination_credit_note="gift")
    assert errors(response) == {"on_termination_credit_note": ["invalid_value"]}
    response = api.delete("/subscriptions/sub_1", on_termination_invoice="later")
    assert errors(response) == {"on_termination_invoice": ["invalid_value"]}
    assert counts(runtime) == before
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["status"] == "active"
