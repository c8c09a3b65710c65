"""GET lists and one subscription, PUT updates, and tenancy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.subscriptions.helpers import (
    add_endpoint,
    bill_jobs,
    create_customer,
    create_plan,
    errors,
    move,
    ok,
    subscribed,
    webhook_types,
    webhooks,
)


@pytest.fixture
def catalog(api, runtime):
    create_customer(api, "cus_1")
    create_customer(api, "cus_2")
    create_plan(api, "pro")
    create_plan(api, "max", amount_cents=9000)


def ids(response) -> list[str]:
    return [s["external_id"] for s in ok(response)["subscriptions"]]


def test_lists_and_filters(api, runtime, catalog):
    move(runtime, datetime(2024, 1, 10, tzinfo=UTC))
    subscribed(api, "a", subscription_at="2024-01-02T00:00:00Z")
    subscribed(
        api, "b", plan_code="max", external_customer_id="cus_2", subscription_at="2024-01-05T00:00:00Z"
    )
    subscribed(api, "c", subscription_at="2024-02-01T00:00:00Z")
    subscribed(api, "d", subscription_at="2024-01-03T00:00:00Z")
    ok(api.delete("/subscriptions/d"))

    assert ids(api.get("/subscriptions")) == ["b", "a"]  # active only, newest start first
    assert ids(api.get("/subscriptions", **{"status[]": ["pending", "terminated"]})) == ["c", "d"]
    assert ids(api.get("/subscriptions", **{"status[]": ["active", "bogus"]})) == ["c", "b", "d", "a"]
    assert ids(api.get("/subscriptions", plan_code="max")) == ["b"]
    assert ids(api.get("/subscriptions", external_customer_id="cus_2")) == ["b"]
    assert ids(api.get("/subscriptions", external_customer_id="nobody")) == []
    assert ids(api.get("/subscriptions", **{"billing_entity_codes[]": "acme"})) == ["b", "a"]
    assert (
        errors(api.get("/subscriptions", **{"billing_entity_codes[]": "nope"}), 404)
        == "billing_entity_not_found"
    )

    page = ok(api.get("/subscriptions", per_page=1, page=2))
    assert [s["external_id"] for s in page["subscriptions"]] == ["a"]
    assert page["meta"] == {
        "current_page": 2,
        "next_page": None,
        "prev_page": 1,
        "total_pages": 2,
        "total_count": 2,
    }
    listed = ok(api.get("/subscriptions"))["subscriptions"][0]
    assert "plan" not in listed and "customer" not in listed

    assert ids(api.get("/customers/cus_1/subscriptions")) == ["a"]
    assert ids(api.get("/customers/cus_1/subscriptions", **{"status[]": "pending"})) == ["c"]
    assert errors(api.get("/customers/nobody/subscriptions"), 404) == "customer_not_found"
    empty = ok(api.get("/subscriptions", plan_code="nope"))
    assert empty == {
        "subscriptions": [],
        "meta": {"current_page": 0, "next_page": None, "prev_page": None, "total_pages": 0, "total_count": 0},
    }


def test_get_one_by_status(api, runtime, catalog):
    first = subscribed(api, "a")
    ok(api.delete("/subscriptions/a"))
    move(runtime, datetime(2024, 1, 2, tzinfo=UTC))
    second = subscribed(api, "a")
    ok(api.delete("/subscriptions/a"))
    assert errors(api.get("/subscriptions/a"), 404) == "subscription_not_found"
    # The last terminated one comes first.
    shown = ok(api.get("/subscriptions/a", status="terminated"))["subscription"]
    assert shown["lago_id"] == second["lago_id"] != first["lago_id"]
    assert set(shown) >= {
        "plan",
        "entitlements",
        "applicable_usage_thresholds",
        "applied_invoice_custom_sections",
    }


def test_put_updates_and_notifies(api, runtime, catalog):
    add_endpoint(api)
    sub = subscribed(api, name="Old")
    move(runtime, datetime(2024, 1, 5, tzinfo=UTC))
    body = {
        "name": "New",
        "ending_at": "2024-06-01T00:00:00Z",
        "purchase_order_number": " PO-9 ",
        "consolidate_invoice": False,
    }
    updated = ok(api.put("/subscriptions/sub_1", {"subscription": body}))["subscription"]
    assert updated["lago_id"] == sub["lago_id"]
    assert (updated["name"], updated["ending_at"]) == ("New", "2024-06-01T00:00:00Z")
    assert (updated["purchase_order_number"], updated["consolidate_invoice"]) == ("PO-9", False)
    assert set(updated) >= {"plan", "applicable_usage_thresholds"} and "entitlements" not in updated
    (hook,) = webhooks(runtime, "subscription.updated")
    assert hook["subscription"]["name"] == "New"
    assert set(hook["subscription"]) >= {"plan", "customer", "entitlements"}

    cleared = ok(api.put("/subscriptions/sub_1", {"subscription": {"ending_at": None}}))["subscription"]
    assert cleared["ending_at"] is None and cleared["name"] == "New"
    # Pay-in-arrears: the credit-note option is ignored.
    kept = ok(api.put("/subscriptions/sub_1", {"subscription": {"on_termination_credit_note": "skip"}}))
    assert kept["subscription"]["on_termination_credit_note"] is None
    assert (
        errors(api.put("/subscriptions/nope", {"subscription": {"name": "x"}}), 404)
        == "subscription_not_found"
    )


def test_put_plan_overrides_moves_to_a_child_plan(api, runtime, catalog):
    parent = ok(api.get("/plans/pro"))["plan"]
    subscribed(api)
    first = ok(api.put("/subscriptions/sub_1", {"subscription": {"plan_overrides": {"amount_cents": 700}}}))
    child = first["subscription"]["plan"]
    assert (child["parent_id"], child["amount_cents"], first["subscription"]["plan_code"]) == (
        parent["lago_id"],
        700,
        "pro",
    )
    second = ok(api.put("/subscriptions/sub_1", {"subscription": {"plan_overrides": {"name": "Renamed"}}}))
    again = second["subscription"]["plan"]
    assert again["lago_id"] != child["lago_id"]
    assert (again["parent_id"], again["amount_cents"], again["name"]) == (parent["lago_id"], 700, "Renamed")


def test_put_subscription_at_of_a_pending_subscription(api, runtime, catalog):
    add_endpoint(api)
    create_plan(api, "adv", pay_in_advance=True)
    move(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    subscribed(api, plan_code="adv", subscription_at="2024-02-01T00:00:00Z")
    later = ok(api.put("/subscriptions/sub_1", {"subscription": {"subscription_at": "2024-03-01T00:00:00Z"}}))
    assert later["subscription"]["status"] == "pending"
    assert later["subscription"]["subscription_at"] == "2024-03-01T00:00:00Z"
    assert webhook_types(runtime)[-1] == "plan.created"  # moved silently

    now = ok(api.put("/subscriptions/sub_1", {"subscription": {"subscription_at": "2024-01-10T08:00:00Z"}}))
    assert now["subscription"]["status"] == "active"
    assert now["subscription"]["started_at"] == "2024-01-10T08:00:00.000Z"
    assert webhook_types(runtime)[-2:] == ["subscription.started", "subscription.updated"]
    (job,) = bill_jobs(runtime)
    assert job["unique_key"] == f"bill:start:{now['subscription']['lago_id']}"
    assert job["payload"]["timestamp"] == "2024-01-10T09:00:00.000000Z"


def test_put_status_picks_the_pending_one(api, runtime, catalog):
    subscribed(api, plan_code="max")
    subscribed(api, plan_code="pro")  # a downgrade: a pending successor
    pending = ok(api.put("/subscriptions/sub_1?status=pending", {"subscription": {"name": "Next"}}))[
        "subscription"
    ]
    assert (pending["status"], pending["name"], pending["plan_code"]) == ("pending", "Next", "pro")
    active = ok(api.put("/subscriptions/sub_1", {"status": "active", "subscription": {"name": "Now"}}))
    assert (active["subscription"]["status"], active["subscription"]["name"]) == ("active", "Now")


def test_tenancy(api, other_api, runtime, catalog):
    subscribed(api)
    assert errors(other_api.get("/subscriptions/sub_1"), 404) == "subscription_not_found"
    assert (
        errors(other_api.put("/subscriptions/sub_1", {"subscription": {"name": "x"}}), 404)
        == "subscription_not_found"
    )
    assert errors(other_api.delete("/subscriptions/sub_1"), 404) == "subscription_not_found"
    assert ok(other_api.get("/subscriptions"))["subscriptions"] == []
    assert errors(other_api.get("/customers/cus_1/subscriptions"), 404) == "customer_not_found"
    # The same external ids are free in another organization.
    create_customer(other_api, "cus_1")
    create_plan(other_api, "pro")
    theirs = subscribed(other_api)
    assert theirs["status"] == "active"
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["lago_id"] != theirs["lago_id"]
