"""POST /subscriptions: a new subscription today, backdated, in the future; overrides; the customer."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from billow.subscriptions.models import Subscription
from tests.subscriptions.helpers import (
    add_endpoint,
    bill_jobs,
    create_customer,
    create_plan,
    errors,
    move,
    ok,
    subscribe,
    subscribed,
    webhook_types,
    webhooks,
)

OBJECT_KEYS = {
    "lago_id",
    "external_id",
    "lago_customer_id",
    "external_customer_id",
    "billing_entity_code",
    "name",
    "plan_code",
    "plan_amount_cents",
    "plan_amount_currency",
    "status",
    "billing_time",
    "subscription_at",
    "started_at",
    "trial_ended_at",
    "ending_at",
    "terminated_at",
    "canceled_at",
    "created_at",
    "previous_plan_code",
    "next_plan_code",
    "downgrade_plan_date",
    "current_billing_period_started_at",
    "current_billing_period_ending_at",
    "on_termination_credit_note",
    "on_termination_invoice",
    "progressive_billing_disabled",
    "consolidate_invoice",
    "purchase_order_number",
    "cancellation_reason",
    "activated_at",
    "payment_method",
    "activation_rules",
}


def test_created_today_is_active_and_pay_in_advance_queues_its_start_invoice(api, runtime, org):
    add_endpoint(api)
    customer = create_customer(api, "cus_1")
    plan = create_plan(api, "pro", pay_in_advance=True)
    move(runtime, datetime(2024, 1, 10, 9, 30, tzinfo=UTC))
    sub = subscribed(api, name="Repo A", billing_time="anniversary", purchase_order_number="PO-1")

    assert set(sub) == OBJECT_KEYS | {
        "plan",
        "entitlements",
        "applicable_usage_thresholds",
        "applied_invoice_custom_sections",
    }
    assert sub["status"] == "active"
    assert sub["external_customer_id"] == "cus_1"
    assert sub["lago_customer_id"] == customer["lago_id"]
    assert sub["name"] == "Repo A"
    assert sub["plan_code"] == "pro"
    assert (sub["plan_amount_cents"], sub["plan_amount_currency"]) == (1000, "EUR")
    assert sub["billing_time"] == "anniversary"
    assert sub["subscription_at"] == "2024-01-10T09:30:00Z"
    assert sub["started_at"] == "2024-01-10T09:30:00.000Z"
    assert sub["activated_at"] == "2024-01-10T09:30:00Z"
    assert sub["current_billing_period_started_at"] == "2024-01-10T09:30:00Z"
    assert sub["current_billing_period_ending_at"] == "2024-02-09T23:59:59Z"
    assert sub["purchase_order_number"] == "PO-1"
    assert sub["on_termination_invoice"] == "generate"
    assert sub["on_termination_credit_note"] is None
    assert sub["payment_method"] == {"payment_method_id": None, "payment_method_type": "provider"}
    assert sub["plan"]["lago_id"] == plan["lago_id"]
    assert sub["entitlements"] == [] and sub["activation_rules"] == []

    assert bill_jobs(runtime) == [
        {
            "unique_key": f"bill:start:{sub['lago_id']}",
            "payload": {
                "customer_id": customer["lago_id"],
                "timestamp": "2024-01-10T09:30:00.000000Z",
                "items": [{"subscription_id": sub["lago_id"], "reason": "subscription_starting"}],
            },
            "organization_id": org.id,
        }
    ]
    (started,) = webhooks(runtime, "subscription.started")
    assert started["object_type"] == "subscription"
    body = started["subscription"]
    assert set(body) == OBJECT_KEYS | {"plan", "customer", "entitlements"}
    assert body["customer"]["external_id"] == "cus_1"
    assert {k: body[k] for k in OBJECT_KEYS} == {k: sub[k] for k in OBJECT_KEYS}


def test_pay_in_arrears_start_queues_nothing(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    assert subscribed(api)["status"] == "active"
    assert bill_jobs(runtime) == []


def test_trial_start_queues_no_invoice(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "pro", pay_in_advance=True, trial_period=10)
    assert subscribed(api)["status"] == "active"
    assert bill_jobs(runtime) == []


def test_backdated_is_active_from_its_start_and_invoices_nothing_now(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "pro", pay_in_advance=True)
    move(runtime, datetime(2024, 2, 10, tzinfo=UTC))
    sub = subscribed(api, subscription_at="2024-01-15T08:00:00Z")
    assert sub["status"] == "active"
    assert sub["started_at"] == "2024-01-15T08:00:00.000Z"
    assert bill_jobs(runtime) == []
    assert webhook_types(runtime)[-1] == "subscription.started"


def test_backdated_restart_starts_after_the_last_invoiced_termination(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    subscribed(api, subscription_at="2024-01-01T00:00:00Z")
    move(runtime, datetime(2024, 1, 20, 6, tzinfo=UTC))
    ok(api.delete("/subscriptions/sub_1"))
    move(runtime, datetime(2024, 1, 25, tzinfo=UTC))
    again = subscribed(api, subscription_at="2024-01-10T00:00:00Z")
    assert again["started_at"] == "2024-01-20T06:00:00.000Z"
    assert again["subscription_at"] == "2024-01-10T00:00:00Z"


def test_future_start_is_pending_silently(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "pro", pay_in_advance=True)
    sub = subscribed(api, subscription_at="2024-01-02T00:00:00Z")
    assert sub["status"] == "pending"
    assert sub["started_at"] is None and sub["activated_at"] is None
    assert sub["current_billing_period_started_at"] is None
    assert bill_jobs(runtime) == []
    assert "subscription.started" not in webhook_types(runtime)
    assert api.get("/subscriptions/sub_1").status_code == 404
    assert ok(api.get("/subscriptions/sub_1", status="pending"))["subscription"]["lago_id"] == sub["lago_id"]


def test_today_is_the_customers_day(api, runtime):
    """2024-01-01T00:00Z is still Dec 31 in Los Angeles: a start at 2024-01-01T05:00Z is today
    there (active), while for a UTC customer the same instant is today too; a start on Jan 1 in
    Los Angeles (08:00Z) is in the future."""
    create_customer(api, "cus_1", timezone="America/Los_Angeles")
    create_plan(api, "pro")
    assert subscribed(api, "a", subscription_at="2024-01-01T05:00:00Z")["status"] == "active"
    assert subscribed(api, "b", subscription_at="2024-01-01T08:00:00Z")["status"] == "pending"
    assert subscribed(api, "c", subscription_at="2023-12-31T07:59:00Z")["status"] == "active"


def test_same_plan_returns_the_existing_subscription_unchanged(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "pro", pay_in_advance=True)
    first = subscribed(api, name="First")
    before = (webhook_types(runtime), bill_jobs(runtime))
    move(runtime, datetime(2024, 1, 3, tzinfo=UTC))
    again = subscribed(api, name="Second", billing_time="anniversary")
    assert again["lago_id"] == first["lago_id"]
    assert again["name"] == "First" and again["billing_time"] == "calendar"
    assert (webhook_types(runtime), bill_jobs(runtime)) == before


def test_plan_overrides_create_a_child_plan(api, runtime):
    create_customer(api, "cus_1")
    parent = create_plan(api, "pro")
    sub = subscribed(api, plan_overrides={"amount_cents": 500, "name": "Custom pro"})
    assert sub["plan_code"] == "pro"
    assert sub["plan_amount_cents"] == 500
    assert sub["plan"]["parent_id"] == parent["lago_id"]
    assert sub["plan"]["name"] == "Custom pro"
    assert sub["plan"]["lago_id"] != parent["lago_id"]
    # The parent plan is untouched, and still the one ``plan_code`` lists by.
    assert ok(api.get("/plans/pro"))["plan"]["amount_cents"] == 1000
    listed = ok(api.get("/subscriptions", plan_code="pro"))["subscriptions"]
    assert [s["lago_id"] for s in listed] == [sub["lago_id"]]


def test_missing_customer_is_created_with_the_plan_currency(api, runtime):
    add_endpoint(api)
    create_plan(api, "pro", amount_currency="USD")
    sub = subscribed(api, external_customer_id="new_cus")
    customer = ok(api.get("/customers/new_cus"))["customer"]
    assert sub["lago_customer_id"] == customer["lago_id"]
    assert customer["currency"] == "USD"
    assert webhook_types(runtime) == ["plan.created", "customer.created", "subscription.started"]


def test_customer_currency_must_match_the_plan(api, runtime):
    create_customer(api, "cus_1", currency="USD")
    create_plan(api, "pro", amount_currency="EUR")
    assert errors(subscribe(api)) == {"currency": ["currencies_does_not_match"]}
    # A currency override that matches is accepted.
    sub = subscribed(api, plan_overrides={"amount_currency": "USD"})
    assert sub["plan_amount_currency"] == "USD"


def test_external_id_of_another_customers_active_subscription(api, runtime):
    create_customer(api, "cus_1")
    create_customer(api, "cus_2")
    create_plan(api, "pro")
    subscribed(api)
    response = subscribe(api, external_customer_id="cus_2")
    assert errors(response) == {"external_id": ["value_already_exist"]}


def test_numbers_are_taken_as_text(api, runtime):
    create_customer(api, "123")
    create_plan(api, "pro")
    sub = subscribed(api, external_customer_id=123, external_id=789, name=456)
    assert (sub["external_id"], sub["name"], sub["external_customer_id"]) == ("789", "456", "123")


def test_subscription_row(api, runtime, org):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    sub = subscribed(api, name=None)
    with runtime.db.session() as session:
        row = session.scalars(select(Subscription)).one()
    assert str(row.id) == sub["lago_id"]
    assert row.organization_id == org.id
    assert row.billing_entity_id is None
    assert row.termination_reason is None
    assert row.name == ""  # Lago stores the stripped name, empty when none was sent
