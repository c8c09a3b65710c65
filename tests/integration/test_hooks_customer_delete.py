"""``DELETE /customers/{external_id}`` as Lago: the customer is discarded and, in the same
transaction, its active subscriptions terminated (termination invoices queued), its pending ones
canceled and its applied coupons terminated; another customer's are untouched."""

from __future__ import annotations

import uuid
from typing import Any

from billow.core.errors import ValidationFailed
from billow.core.hooks import Hooks
from billow.customers.hooks import CustomerHooks
from billow.db.context import Ctx
from billow.subscriptions.terminate import terminate_customer_subscriptions
from tests.integration.helpers import (
    FIXED_COUPON,
    add_endpoint,
    counts,
    create_coupon,
    create_customer,
    create_plan,
    error,
    jobs,
    ok,
    rows,
    subscribed,
    validation,
    webhook_types,
    webhooks,
)

BILL = "billing.bill_subscriptions"


def apply_coupon(api: Any, customer: str) -> dict[str, Any]:
    body = {"external_customer_id": customer, "coupon_code": "startup"}
    return ok(api.post("/applied_coupons", {"applied_coupon": body}))["applied_coupon"]


def statuses(runtime: Any) -> dict[tuple[str, str], tuple[str, str | None]]:
    """``(external_id, plan code)`` → ``(status, termination_reason)`` of every subscription."""
    found = rows(
        runtime,
        "SELECT s.external_id, p.code, s.status, s.termination_reason"
        " FROM subscriptions s JOIN plans p ON p.id = s.plan_id",
    )
    return {(e, c): (s, r) for e, c, s, r in found}


def coupon_statuses(runtime: Any) -> dict[str, str]:
    return {str(uuid.UUID(str(i))): s for i, s in rows(runtime, "SELECT id, status FROM applied_coupons")}


def setup(api: Any) -> dict[str, dict[str, Any]]:
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_customer(api, "cus_2")
    create_plan(api, "pro")
    create_plan(api, "cheap", amount_cents=1)
    create_coupon(api, FIXED_COUPON)
    active = subscribed(api, "a")
    subscribed(api, "a", plan_code="cheap")  # a downgrade: pending until the period ends
    subscribed(api, "later", subscription_at="2024-03-01T00:00:00Z")  # pending
    subscribed(api, "b", customer="cus_2")
    return {
        "active": active,
        "coupon": apply_coupon(api, "cus_1"),
        "their_coupon": apply_coupon(api, "cus_2"),
    }


def test_delete_terminates_the_customers_subscriptions_and_coupons(api: Any, runtime: Any) -> None:
    made = setup(api)
    customer = ok(api.get("/customers/cus_1"))["customer"]
    assert {s for s, _ in statuses(runtime).values()} == {"active", "pending"}
    hooks_before = len(webhook_types(runtime))

    r = api.delete("/customers/cus_1")
    assert r.status_code == 200
    assert r.json() == {"customer": customer}  # Lago answers with the discarded customer

    assert statuses(runtime) == {
        ("a", "pro"): ("terminated", "manual"),
        ("a", "cheap"): ("canceled", None),
        ("later", "pro"): ("canceled", None),
        ("b", "pro"): ("active", None),
    }
    assert coupon_statuses(runtime) == {
        made["coupon"]["lago_id"]: "terminated",
        made["their_coupon"]["lago_id"]: "active",
    }
    # The termination invoice is queued; canceled pending subscriptions bill nothing.
    assert jobs(runtime, BILL) == [(f"bill:terminate:{made['active']['lago_id']}", "pending")]
    # Webhooks come from the subscriptions service: the termination; pending subscriptions are
    # canceled silently and coupons send none, as in Lago. No customer webhook either.
    [terminated] = webhooks(runtime)[hooks_before:]
    assert terminated["webhook_type"] == "subscription.terminated"
    sent = terminated["subscription"]
    assert (sent["lago_id"], sent["status"], sent["terminated_at"]) == (
        made["active"]["lago_id"],
        "terminated",
        "2024-01-01T00:00:00Z",
    )

    assert api.get("/customers/cus_1").json() == error(404, "customer_not_found")
    assert ok(api.get("/subscriptions/b"))["subscription"]["status"] == "active"
    # The external id is free again; the new customer starts with nothing.
    fresh = create_customer(api, "cus_1")
    assert fresh["lago_id"] != customer["lago_id"] and fresh["currency"] is None


def test_unknown_or_foreign_customer_is_404_and_changes_nothing(
    api: Any, other_api: Any, runtime: Any
) -> None:
    setup(api)
    before, hooks = counts(runtime), webhook_types(runtime)
    assert api.delete("/customers/nope").json() == error(404, "customer_not_found")
    assert other_api.delete("/customers/cus_1").json() == error(404, "customer_not_found")
    assert counts(runtime) == before and webhook_types(runtime) == hooks
    assert {s for s, _ in statuses(runtime).values()} == {"active", "pending"}
    assert set(coupon_statuses(runtime).values()) == {"active"}


def test_deletion_and_its_cascade_commit_together(api: Any, runtime: Any) -> None:
    """A failing step rolls back the customer's deletion and every termination before it."""

    def failing(ctx: Ctx, customer_id: uuid.UUID) -> None:
        raise ValidationFailed.field("base", "wallet_not_terminated")

    setup(api)
    runtime.hooks = Hooks(CustomerHooks(on_delete=(terminate_customer_subscriptions, failing)))
    before, hooks = counts(runtime), webhook_types(runtime)
    assert api.delete("/customers/cus_1").json() == validation({"base": ["wallet_not_terminated"]})
    assert ok(api.get("/customers/cus_1"))["customer"]["lago_id"]
    assert statuses(runtime)[("a", "pro")] == ("active", None)
    assert counts(runtime) == before and webhook_types(runtime) == hooks
    assert jobs(runtime, BILL) == []
