"""Upgrades (now, one invoice job for both subscriptions) and downgrades (pending until the billing
day, applied by ``apply_scheduled_downgrade``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from billow.db.context import Ctx
from billow.subscriptions.activation import apply_scheduled_downgrade
from billow.subscriptions.models import Subscription
from tests.subscriptions.helpers import (
    add_endpoint,
    bill_jobs,
    counts,
    create_customer,
    create_plan,
    move,
    ok,
    subscribed,
    webhook_types,
    webhooks,
)


def rows(runtime) -> dict[str, Subscription]:
    with runtime.db.session() as session:
        return {str(s.id): s for s in session.scalars(select(Subscription))}


def test_upgrade_monthly_to_yearly_ex4(api, runtime, org):
    """billing.md Ex4 dates: monthly 1000 advance anniversary from 06-29T12:12, upgraded on
    09-28T05:00 to yearly 12000 advance."""
    add_endpoint(api)
    customer = create_customer(api, "cus_1")
    create_plan(api, "monthly", amount_cents=1000, pay_in_advance=True)
    create_plan(api, "yearly", interval="yearly", amount_cents=12000, pay_in_advance=True)
    move(runtime, datetime(2024, 6, 29, 12, 12, tzinfo=UTC))
    old = subscribed(api, plan_code="monthly", billing_time="anniversary")
    move(runtime, datetime(2024, 9, 28, 5, tzinfo=UTC))
    hooks_before = len(webhooks(runtime))

    new = subscribed(api, plan_code="yearly", name="Upgraded")
    assert new["lago_id"] != old["lago_id"]
    assert new["status"] == "active"
    assert new["started_at"] == "2024-09-28T05:00:00.000Z"
    assert new["subscription_at"] == "2024-06-29T12:12:00Z"
    assert new["billing_time"] == "anniversary"
    assert new["previous_plan_code"] == "monthly"
    assert new["plan_code"] == "yearly"
    assert new["name"] == "Upgraded"
    assert new["current_billing_period_started_at"] == "2024-09-28T05:00:00Z"
    assert new["current_billing_period_ending_at"] == "2025-06-28T23:59:59Z"

    terminated = ok(api.get("/subscriptions/sub_1", status="terminated"))["subscription"]
    assert terminated["lago_id"] == old["lago_id"]
    assert terminated["terminated_at"] == "2024-09-28T05:00:00Z"
    assert terminated["next_plan_code"] == "yearly"
    assert terminated["downgrade_plan_date"] is None
    assert terminated["on_termination_credit_note"] == "credit"
    stored = rows(runtime)
    assert stored[old["lago_id"]].termination_reason == "upgrade"
    assert str(stored[new["lago_id"]].previous_subscription_id) == old["lago_id"]

    upgrade_jobs = [j for j in bill_jobs(runtime) if j["unique_key"].startswith("bill:upgrade:")]
    assert upgrade_jobs == [
        {
            "unique_key": f"bill:upgrade:{old['lago_id']}",
            "payload": {
                "customer_id": customer["lago_id"],
                "timestamp": "2024-09-28T05:00:01.000000Z",
                "items": [
                    {"subscription_id": old["lago_id"], "reason": "subscription_upgrading"},
                    {"subscription_id": new["lago_id"], "reason": "subscription_starting"},
                ],
            },
            "organization_id": org.id,
        }
    ]
    assert not any(j["unique_key"].startswith("bill:terminate:") for j in bill_jobs(runtime))
    # Recording the default credit-note behaviour is an update (Lago), then the switch itself.
    assert webhook_types(runtime)[hooks_before:] == [
        "subscription.updated",
        "subscription.terminated",
        "subscription.started",
    ]
    started = webhooks(runtime, "subscription.started")[-1]["subscription"]
    assert started["lago_id"] == new["lago_id"]
    assert started["previous_plan_code"] == "monthly"


def test_upgrade_from_a_free_arrears_plan_ex25(api, runtime):
    """Ex25: 0-price arrears plan upgraded an hour later to an arrears plan: the invoice job holds
    only the old subscription (the new one bills in arrears)."""
    create_customer(api, "cus_1")
    create_plan(api, "free", amount_cents=0)
    create_plan(api, "paid", amount_cents=2000)
    move(runtime, datetime(2024, 4, 24, 10, tzinfo=UTC))
    old = subscribed(api, plan_code="free")
    move(runtime, datetime(2024, 4, 24, 11, tzinfo=UTC))
    new = subscribed(api, plan_code="paid")
    (job,) = bill_jobs(runtime)
    assert job["unique_key"] == f"bill:upgrade:{old['lago_id']}"
    assert job["payload"]["timestamp"] == "2024-04-24T11:00:01.000000Z"
    assert job["payload"]["items"] == [
        {"subscription_id": old["lago_id"], "reason": "subscription_upgrading"}
    ]
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["lago_id"] == new["lago_id"]
    # Pay-in-arrears: nothing recorded for the credit note.
    terminated = ok(api.get("/subscriptions/sub_1", status="terminated"))["subscription"]
    assert terminated["on_termination_credit_note"] is None


def test_equal_price_is_an_upgrade_and_trial_carries_over_ex20(api, runtime):
    """Ex20: the new plan's trial counts from the first start; in trial the new subscription
    is not billed at the upgrade."""
    create_customer(api, "cus_1")
    create_plan(api, "small", amount_cents=5_000_000, pay_in_advance=True, trial_period=10)
    create_plan(api, "big", amount_cents=10_000_000, pay_in_advance=True, trial_period=13)
    move(runtime, datetime(2024, 3, 5, 12, 12, tzinfo=UTC))
    old = subscribed(api, plan_code="small")
    move(runtime, datetime(2024, 3, 10, tzinfo=UTC))
    subscribed(api, plan_code="big")
    (job,) = bill_jobs(runtime)
    assert job["payload"]["items"] == [
        {"subscription_id": old["lago_id"], "reason": "subscription_upgrading"}
    ]


def test_upgrade_of_a_pending_subscription_replaces_its_plan(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    create_plan(api, "max", amount_cents=9000)
    pending = subscribed(api, subscription_at="2024-02-01T00:00:00Z")
    before = counts(runtime)
    changed = subscribed(api, plan_code="max")
    assert changed["lago_id"] == pending["lago_id"]
    assert changed["status"] == "pending"
    assert changed["plan_code"] == "max"
    assert counts(runtime)["subscriptions"] == before["subscriptions"]


def test_downgrade_monthly_to_yearly_ex5(api, runtime, ctx):
    """Ex5 dates: monthly 12900 advance anniversary from 07-19T12:12, downgrade asked on 11-09
    to yearly 118800; the switch happens on 11-19."""
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "monthly", amount_cents=12900, pay_in_advance=True)
    create_plan(api, "yearly", interval="yearly", amount_cents=118800, pay_in_advance=True)
    move(runtime, datetime(2024, 7, 19, 12, 12, tzinfo=UTC))
    old = subscribed(api, plan_code="monthly", billing_time="anniversary")
    move(runtime, datetime(2024, 11, 9, tzinfo=UTC))
    jobs_before, hooks_before = bill_jobs(runtime), len(webhooks(runtime))

    answer = subscribed(api, plan_code="yearly")
    assert answer["lago_id"] == old["lago_id"]
    assert answer["status"] == "active"
    assert answer["next_plan_code"] == "yearly"
    assert answer["downgrade_plan_date"] == "2024-11-19"
    assert bill_jobs(runtime) == jobs_before
    (updated,) = webhooks(runtime)[hooks_before:]
    assert updated["webhook_type"] == "subscription.updated"
    assert updated["subscription"]["lago_id"] == old["lago_id"]
    assert updated["subscription"]["next_plan_code"] == "yearly"
    assert updated["subscription"]["downgrade_plan_date"] == "2024-11-19"

    pending = ok(api.get("/subscriptions/sub_1", status="pending"))["subscription"]
    assert pending["plan_code"] == "yearly"
    assert pending["previous_plan_code"] == "monthly"
    assert pending["subscription_at"] == "2024-07-19T12:12:00Z"
    assert pending["started_at"] is None

    # The billing run on the old subscription's billing day applies it.
    at = datetime(2024, 11, 19, tzinfo=UTC)
    move(runtime, at)
    old_row = ctx.session.get(Subscription, uuid.UUID(old["lago_id"]))
    assert old_row is not None
    new_row = apply_scheduled_downgrade(ctx, old_row, at)
    assert new_row is not None and str(new_row.id) == pending["lago_id"]
    assert apply_scheduled_downgrade(ctx, old_row, at) is new_row  # idempotent
    ctx.session.commit()

    assert bill_jobs(runtime) == jobs_before
    assert webhook_types(runtime)[hooks_before + 1 :] == ["subscription.terminated", "subscription.started"]
    stored = rows(runtime)
    assert stored[old["lago_id"]].status == "terminated"
    assert stored[old["lago_id"]].terminated_at == at
    assert stored[old["lago_id"]].termination_reason == "downgrade"
    assert stored[pending["lago_id"]].status == "active"
    assert stored[pending["lago_id"]].started_at == at
    terminated = ok(api.get("/subscriptions/sub_1", status="terminated"))["subscription"]
    assert terminated["downgrade_plan_date"] == "2024-11-19"
    assert terminated["next_plan_code"] == "yearly"


def test_a_new_plan_change_cancels_the_scheduled_one(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "big", amount_cents=5000)
    create_plan(api, "mid", amount_cents=3000)
    create_plan(api, "small", amount_cents=1000)
    subscribed(api, plan_code="big")
    first = ok(api.get("/subscriptions/sub_1"))["subscription"]
    subscribed(api, plan_code="mid")
    mid = ok(api.get("/subscriptions/sub_1", status="pending"))["subscription"]
    answer = subscribed(api, plan_code="small")
    assert answer["lago_id"] == first["lago_id"]
    assert answer["next_plan_code"] == "small"
    canceled = ok(api.get("/subscriptions", **{"status[]": "canceled"}))["subscriptions"]
    assert [(s["lago_id"], s["plan_code"]) for s in canceled] == [(mid["lago_id"], "mid")]
    assert canceled[0]["canceled_at"] == "2024-01-01T00:00:00Z"

    # An upgrade now cancels the scheduled downgrade too.
    create_plan(api, "max", amount_cents=9000)
    subscribed(api, plan_code="max")
    statuses = sorted(
        (s["plan_code"], s["status"])
        for s in ok(api.get("/subscriptions", **{"status[]": ["active", "canceled", "terminated"]}))[
            "subscriptions"
        ]
    )
    assert statuses == [
        ("big", "terminated"),
        ("max", "active"),
        ("mid", "canceled"),
        ("small", "canceled"),
    ]


def test_apply_without_pending_successor_is_a_no_op(api, runtime, ctx):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    sub = subscribed(api)
    row = ctx.session.get(Subscription, uuid.UUID(sub["lago_id"]))
    assert row is not None
    assert apply_scheduled_downgrade(ctx, row, datetime(2024, 2, 1, tzinfo=UTC)) is None
    assert row.status == "active"
    assert isinstance(ctx, Ctx)
