"""Plans and their subscriptions, as Lago: a plan a subscription uses keeps its billing fields
(``PUT`` silently ignores them); ``DELETE /plans/{code}`` queues ``plans.delete_cascade``, which
terminates the plan's active subscriptions (reason ``plan_deleted``, termination invoice queued)
and cancels its pending ones, for the plan and its children, then deletes them."""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import (
    add_endpoint,
    counts,
    create_customer,
    create_plan,
    error,
    jobs,
    ok,
    rows,
    subscribed,
    webhooks,
)

BILL = "billing.bill_subscriptions"
CASCADE = "plans.delete_cascade"
BILLING_FIELDS = {
    "code": "renamed",
    "interval": "yearly",
    "amount_currency": "USD",
    "pay_in_advance": True,
    "trial_period": 7,
    "bill_charges_monthly": True,
}
ALWAYS_EDITABLE = {
    "name": "Pro+",
    "invoice_display_name": "Pro plan",
    "description": "Now with more",
    "amount_cents": 2500,
}


def statuses(runtime: Any) -> dict[str, tuple[str, str | None]]:
    found = rows(runtime, "SELECT external_id, status, termination_reason FROM subscriptions")
    return {e: (s, r) for e, s, r in found}


def test_a_plan_with_subscriptions_keeps_its_billing_fields(api: Any, runtime: Any) -> None:
    plan = create_plan(api, "pro")
    create_customer(api, "cus_1")
    subscribed(api, "sub_1")
    r = api.put("/plans/pro", {"plan": {**BILLING_FIELDS, **ALWAYS_EDITABLE}})
    assert r.json() == {"plan": dict(plan, **ALWAYS_EDITABLE)}
    assert api.get("/plans/renamed").json() == error(404, "plan_not_found")
    # Terminated subscriptions still count, as in Lago (any subscription of the plan).
    ok(api.delete("/subscriptions/sub_1"))
    r = api.put("/plans/pro", {"plan": {"interval": "yearly"}})
    assert ok(r)["plan"]["interval"] == "monthly"


def test_a_plan_without_subscriptions_of_its_own_is_editable(api: Any) -> None:
    create_plan(api, "pro")
    create_customer(api, "cus_1")
    # The overrides make a child plan: the subscription is on the child, not on "pro".
    subscribed(api, "sub_1", plan_overrides={"amount_cents": 5})
    updated = ok(api.put("/plans/pro", {"plan": BILLING_FIELDS}))["plan"]
    assert {k: updated[k] for k in BILLING_FIELDS} == BILLING_FIELDS


def test_deleting_a_plan_terminates_its_subscriptions(api: Any, runtime: Any) -> None:
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_customer(api, "cus_2")
    create_plan(api, "pro")
    create_plan(api, "other")
    active = subscribed(api, "a")
    child = subscribed(api, "b", customer="cus_2", plan_overrides={"amount_cents": 5})
    subscribed(api, "c", subscription_at="2024-03-01T00:00:00Z")  # pending
    elsewhere = subscribed(api, "d", plan_code="other")
    assert jobs(runtime, BILL) == []  # pay in arrears: nothing billed at start

    deleted = ok(api.delete("/plans/pro"))["plan"]
    assert deleted["pending_deletion"] is True
    # Nothing ends before the job runs.
    assert jobs(runtime, CASCADE) == [(None, "pending")]
    assert {s for s, _ in statuses(runtime).values()} == {"active", "pending"}

    hooks_before = len(webhooks(runtime))
    runtime.worker.run_batch()  # the jobs due now: the cascade (and webhook deliveries)
    assert jobs(runtime, CASCADE) == [(None, "succeeded")]
    assert statuses(runtime) == {
        "a": ("terminated", "plan_deleted"),
        "b": ("terminated", "plan_deleted"),
        "c": ("canceled", None),
        "d": ("active", None),
    }
    # Each termination queues its invoice (billed by the next worker batch); children first.
    assert jobs(runtime, BILL) == [
        (f"bill:terminate:{child['lago_id']}", "pending"),
        (f"bill:terminate:{active['lago_id']}", "pending"),
    ]
    sent = [
        (w["webhook_type"], w["subscription"]["external_id"], w["subscription"]["status"])
        for w in webhooks(runtime)[hooks_before:]
    ]
    assert sent == [
        ("subscription.terminated", "b", "terminated"),
        ("subscription.terminated", "a", "terminated"),
    ]
    # The plan and its child are deleted; the other plan and its subscription live on.
    assert api.get("/plans/pro").json() == error(404, "plan_not_found")
    assert rows(runtime, "SELECT code, deleted_at IS NOT NULL FROM plans ORDER BY created_at, id") == [
        ("pro", 1),
        ("other", 0),
        ("pro", 1),
    ]
    assert ok(api.get("/subscriptions/d"))["subscription"]["lago_id"] == elsewhere["lago_id"]


def test_deleting_an_unknown_plan_queues_nothing(api: Any, runtime: Any) -> None:
    create_plan(api, "pro")
    create_customer(api, "cus_1")
    subscribed(api, "a")
    before = counts(runtime)
    assert api.delete("/plans/nope").json() == error(404, "plan_not_found")
    assert counts(runtime) == before
    assert jobs(runtime, CASCADE) == []
    assert statuses(runtime) == {"a": ("active", None)}
