"""The hourly tick: ``ending_at`` terminations, trial ends, termination alerts; every tick is
idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from billow.jobs.models import Job
from billow.subscriptions.alerts import TERMINATION_ALERT_JOB
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
    webhooks,
)


def tick(runtime, when: datetime) -> None:
    move(runtime, when)
    runtime.scheduler.run_tick(when)


def ticks(runtime, start: datetime, end: datetime) -> None:
    hour = start
    while hour <= end:
        tick(runtime, hour)
        hour += timedelta(hours=1)


@pytest.mark.parametrize(
    ("timezone", "terminated_at"),
    [
        # Ex21: ending_at 09-06T00:00Z is Sep 6 in UTC (and Paris), Sep 5 in Bogota (UTC−5).
        ("UTC", datetime(2024, 9, 6, tzinfo=UTC)),
        ("Europe/Paris", datetime(2024, 9, 5, 22, tzinfo=UTC)),
        ("America/Bogota", datetime(2024, 9, 5, 5, tzinfo=UTC)),
    ],
)
def test_ending_at_terminates_on_its_local_day_ex21(api, runtime, org, timezone, terminated_at):
    add_endpoint(api)
    customer = create_customer(api, "cus_1", timezone=timezone)
    create_plan(api, "pro", billing_time="anniversary")
    move(runtime, datetime(2024, 9, 5, tzinfo=UTC))
    sub = subscribed(
        api,
        billing_time="anniversary",
        subscription_at="2024-09-05T00:00:00Z",
        ending_at="2024-09-06T00:00:00Z",
    )
    assert sub["status"] == "active"
    ticks(runtime, datetime(2024, 9, 5, 1, tzinfo=UTC), terminated_at - timedelta(hours=1))
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["status"] == "active"

    tick(runtime, terminated_at)
    done = ok(api.get("/subscriptions/sub_1", status="terminated"))["subscription"]
    assert done["terminated_at"] == terminated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert done["ending_at"] == "2024-09-06T00:00:00Z"
    assert bill_jobs(runtime) == [
        {
            "unique_key": f"bill:terminate:{sub['lago_id']}",
            "payload": {
                "customer_id": customer["lago_id"],
                "timestamp": terminated_at.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "items": [{"subscription_id": sub["lago_id"], "reason": "subscription_terminating"}],
            },
            "organization_id": org.id,
        }
    ]
    assert [w["subscription"]["lago_id"] for w in webhooks(runtime, "subscription.terminated")] == [
        sub["lago_id"]
    ]
    with runtime.db.session() as session:
        assert session.scalars(select(Subscription.termination_reason)).one() == "ending_at"

    before = counts(runtime)
    runtime.scheduler.run_tick(terminated_at)
    ticks(runtime, terminated_at + timedelta(hours=1), terminated_at + timedelta(hours=3))
    assert counts(runtime) == before


def test_trial_end_ex20(api, runtime, org):
    """Ex20: 5,000,000 advance with a 10-day trial from 03-05T12:12; the trial-end run after
    03-15T12:12 bills the first fee and marks the trial ended."""
    add_endpoint(api)
    customer = create_customer(api, "cus_1")
    create_plan(api, "pro", amount_cents=5_000_000, pay_in_advance=True, trial_period=10)
    move(runtime, datetime(2024, 3, 5, 12, 12, tzinfo=UTC))
    sub = subscribed(api)
    assert bill_jobs(runtime) == []
    tick(runtime, datetime(2024, 3, 15, 12, tzinfo=UTC))
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["trial_ended_at"] is None
    assert webhooks(runtime, "subscription.trial_ended") == []

    tick(runtime, datetime(2024, 3, 15, 13, tzinfo=UTC))
    ended = ok(api.get("/subscriptions/sub_1"))["subscription"]
    assert ended["trial_ended_at"] == "2024-03-15T12:12:00Z"
    assert bill_jobs(runtime) == [
        {
            "unique_key": f"bill:trial_end:{sub['lago_id']}",
            "payload": {
                "customer_id": customer["lago_id"],
                "timestamp": "2024-03-15T13:00:00.000000Z",
                "items": [{"subscription_id": sub["lago_id"], "reason": "subscription_starting"}],
            },
            "organization_id": org.id,
        }
    ]
    (hook,) = webhooks(runtime, "subscription.trial_ended")
    assert hook["subscription"]["trial_ended_at"] == "2024-03-15T12:12:00Z"
    assert set(hook["subscription"]) >= {"plan", "customer"}
    assert "entitlements" not in hook["subscription"]

    before = counts(runtime)
    runtime.scheduler.run_tick(datetime(2024, 3, 15, 13, tzinfo=UTC))
    tick(runtime, datetime(2024, 3, 15, 14, tzinfo=UTC))
    assert counts(runtime) == before


def test_trial_end_after_upgrade_counts_from_the_first_start_ex20(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "small", amount_cents=5_000_000, pay_in_advance=True, trial_period=10)
    create_plan(api, "big", amount_cents=10_000_000, pay_in_advance=True, trial_period=13)
    move(runtime, datetime(2024, 3, 5, 12, 12, tzinfo=UTC))
    subscribed(api, plan_code="small")
    move(runtime, datetime(2024, 3, 10, tzinfo=UTC))
    new = subscribed(api, plan_code="big")
    tick(runtime, datetime(2024, 3, 15, 13, tzinfo=UTC))  # the old plan's trial end: nothing now
    assert [j["unique_key"] for j in bill_jobs(runtime) if "trial_end" in j["unique_key"]] == []
    tick(runtime, datetime(2024, 3, 18, 13, tzinfo=UTC))
    (job,) = [j for j in bill_jobs(runtime) if "trial_end" in j["unique_key"]]
    assert job["unique_key"] == f"bill:trial_end:{new['lago_id']}"
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["trial_ended_at"] == "2024-03-18T12:12:00Z"


def test_trial_end_in_arrears_only_marks_and_notifies(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "pro", trial_period=2)
    subscribed(api)
    tick(runtime, datetime(2024, 1, 3, tzinfo=UTC))
    assert ok(api.get("/subscriptions/sub_1"))["subscription"]["trial_ended_at"] == "2024-01-03T00:00:00Z"
    assert bill_jobs(runtime) == []
    assert len(webhooks(runtime, "subscription.trial_ended")) == 1


def alert_jobs(runtime) -> list[str]:
    with runtime.db.session() as session:
        rows = session.scalars(
            select(Job.unique_key).where(Job.kind == TERMINATION_ALERT_JOB).order_by(Job.id)
        )
        return [str(k) for k in rows]


def test_termination_alerts_45_and_15_days_before_once_a_day(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    sub = subscribed(api, ending_at="2024-03-16T10:00:00Z")
    subscribed(api, "no_end")

    # 45 days before: Jan 31 (2024 is a leap year).
    tick(runtime, datetime(2024, 1, 30, 23, tzinfo=UTC))
    assert alert_jobs(runtime) == []
    tick(runtime, datetime(2024, 1, 31, tzinfo=UTC))
    tick(runtime, datetime(2024, 1, 31, 1, tzinfo=UTC))
    runtime.scheduler.run_tick(datetime(2024, 1, 31, 1, tzinfo=UTC))
    assert alert_jobs(runtime) == [f"subscriptions:termination_alert:{sub['lago_id']}:2024-01-31"]
    runtime.worker.drain()
    (alert,) = webhooks(runtime, "subscription.termination_alert")
    assert alert["subscription"]["lago_id"] == sub["lago_id"]
    assert alert["subscription"]["ending_at"] == "2024-03-16T10:00:00Z"
    assert set(alert["subscription"]) >= {"plan", "customer"}

    tick(runtime, datetime(2024, 2, 1, tzinfo=UTC))
    tick(runtime, datetime(2024, 2, 29, 23, tzinfo=UTC))
    assert len(alert_jobs(runtime)) == 1
    # 15 days before: Mar 1.
    tick(runtime, datetime(2024, 3, 1, 5, tzinfo=UTC))
    tick(runtime, datetime(2024, 3, 1, 6, tzinfo=UTC))
    assert alert_jobs(runtime)[1:] == [f"subscriptions:termination_alert:{sub['lago_id']}:2024-03-01"]
    runtime.worker.drain()
    assert len(webhooks(runtime, "subscription.termination_alert")) == 2


def test_alert_days_are_configurable(api, runtime):
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    subscribed(api, ending_at="2024-01-05T10:00:00Z")
    runtime.settings.subscription_termination_alert_days = "3"
    tick(runtime, datetime(2024, 1, 2, tzinfo=UTC))
    assert len(alert_jobs(runtime)) == 1


def test_no_alert_for_a_subscription_terminated_before_the_job_runs(api, runtime):
    add_endpoint(api)
    create_customer(api, "cus_1")
    create_plan(api, "pro")
    subscribed(api, ending_at="2024-02-15T00:00:00Z")
    tick(runtime, datetime(2024, 1, 31, tzinfo=UTC))
    assert len(alert_jobs(runtime)) == 1
    ok(api.delete("/subscriptions/sub_1"))
    runtime.worker.drain()
    assert webhooks(runtime, "subscription.termination_alert") == []


def test_every_tick_twice_adds_nothing(api, runtime):
    create_customer(api, "cus_1", timezone="Asia/Tokyo")
    create_plan(api, "pro", pay_in_advance=True, trial_period=1)
    subscribed(api, "a", subscription_at="2024-01-02T00:00:00Z")
    subscribed(api, "b", ending_at="2024-02-15T00:00:00Z")
    subscribed(api, "c", ending_at="2024-01-02T12:00:00Z")
    hour = datetime(2024, 1, 1, 15, tzinfo=UTC)  # Jan 2 00:00 in Tokyo
    tick(runtime, hour)
    after_first = counts(runtime)
    assert after_first["jobs"] > 0
    runtime.scheduler.run_tick(hour)
    runtime.scheduler.run_tick(hour)
    assert counts(runtime) == after_first
