"""Pending subscriptions start on the hourly tick at the customer's local midnight."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.subscriptions.helpers import (
    add_endpoint,
    bill_jobs,
    counts,
    create_customer,
    create_plan,
    move,
    ok,
    subscribed,
    webhooks,
)


def tick(runtime, when: datetime) -> None:
    move(runtime, when)
    runtime.scheduler.run_tick(when)


def status(api, external_id: str = "sub_1") -> str:
    for state in ("active", "pending"):
        response = api.get(f"/subscriptions/{external_id}", status=state)
        if response.status_code == 200:
            return str(response.json()["subscription"]["status"])
    return "missing"


@pytest.mark.parametrize(
    ("timezone", "subscription_at", "before", "midnight"),
    [
        # Jan 5 in Los Angeles (UTC−8) starts at 08:00Z.
        ("America/Los_Angeles", "2024-01-05T10:00:00-08:00", "2024-01-05T07:00Z", "2024-01-05T08:00Z"),
        # A start at Jan 5 00:00Z is already Jan 5 09:00 in Tokyo (UTC+9): due at Jan 4 15:00Z.
        ("Asia/Tokyo", "2024-01-05T00:00:00Z", "2024-01-04T14:00Z", "2024-01-04T15:00Z"),
    ],
)
def test_activation_at_local_midnight(api, runtime, org, timezone, subscription_at, before, midnight):
    add_endpoint(api)
    customer = create_customer(api, "cus_1", timezone=timezone)
    create_plan(api, "pro", pay_in_advance=True)
    sub = subscribed(api, subscription_at=subscription_at)
    assert sub["status"] == "pending"

    tick(runtime, datetime.fromisoformat(before))
    assert status(api) == "pending"
    assert bill_jobs(runtime) == []

    at = datetime.fromisoformat(midnight)
    tick(runtime, at)
    active = ok(api.get("/subscriptions/sub_1"))["subscription"]
    assert active["lago_id"] == sub["lago_id"]
    assert active["status"] == "active"
    assert active["started_at"] == at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert active["activated_at"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert bill_jobs(runtime) == [
        {
            "unique_key": f"bill:start:{sub['lago_id']}",
            "payload": {
                "customer_id": customer["lago_id"],
                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "items": [{"subscription_id": sub["lago_id"], "reason": "subscription_starting"}],
            },
            "organization_id": org.id,
        }
    ]
    (started,) = webhooks(runtime, "subscription.started")
    assert started["organization_id"] == str(org.id)
    assert started["subscription"]["status"] == "active"
    assert started["subscription"]["customer"]["timezone"] == timezone

    # The same tick again, and the next hour: nothing more.
    before_counts = counts(runtime)
    runtime.scheduler.run_tick(at)
    tick(runtime, datetime(2024, 1, 5, 16, tzinfo=UTC))
    assert counts(runtime) == before_counts


def test_activation_in_trial_queues_no_invoice(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "pro", pay_in_advance=True, trial_period=7)
    subscribed(api, subscription_at="2024-01-03T12:00:00Z")
    tick(runtime, datetime(2024, 1, 3, tzinfo=UTC))
    assert status(api) == "active"
    assert bill_jobs(runtime) == []


def test_downgrade_successors_are_not_activated_by_the_tick(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "big", amount_cents=5000)
    create_plan(api, "small", amount_cents=1000)
    subscribed(api, plan_code="big")
    subscribed(api, plan_code="small")
    tick(runtime, datetime(2024, 1, 2, tzinfo=UTC))
    assert ok(api.get("/subscriptions/sub_1", status="pending"))["subscription"]["plan_code"] == "small"


def test_the_test_clock_api_activates(api, runtime):
    create_customer(api, "cus_1", timezone="America/Los_Angeles")
    create_plan(api, "pro")
    subscribed(api, subscription_at="2024-01-03T09:00:00Z")
    ok(api.post("/test_helpers/clock", {"clock": {"now": "2024-01-03T07:30:00Z"}}))
    assert status(api) == "pending"
    ok(api.post("/test_helpers/clock", {"clock": {"now": "2024-01-03T08:30:00Z"}}))
    active = ok(api.get("/subscriptions/sub_1"))["subscription"]
    assert active["started_at"] == "2024-01-03T08:00:00.000Z"
