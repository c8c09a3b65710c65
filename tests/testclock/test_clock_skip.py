"""Skipping idle hours is exact: a year of clock moves, subscriptions in several timezones and
intervals, trials, pending starts, ``ending_at``, coupons, wallets, grace periods and payment terms
produce exactly the jobs (same order, keys, payloads, times), webhooks and final state as ticking
every hour boundary (over 16 days: hour by hour is the slow reference)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from billow.billing.models import Invoice
from billow.customers.models import Customer
from billow.jobs.models import Job, SchedulerState
from billow.jobs.registry import JobKind, JobRegistry
from billow.jobs.scheduler import TickTask
from billow.pricing.coupons.models import Coupon
from billow.runtime import Runtime
from billow.subscriptions.models import Subscription
from billow.testclock import service
from billow.testclock.horizon import first_hour_on_local_day
from billow.wallets.models import Wallet
from billow.webhooks.emitter import DELIVER_JOB
from billow.webhooks.models import Webhook
from tests.billing.helpers import add_endpoint, at, customer, plan, start_clock, subscribe
from tests.pricing.helpers import create_coupon, ok
from tests.support.api import Api, make_org
from tests.support.db import wipe
from tests.wallets.helpers import create_wallet

pytestmark = pytest.mark.slow

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The organization's document number prefix (``ACM-5C10``) is random: each run has its own.
_PREFIX = re.compile(r"\bACM-[0-9A-F]{4}\b")

MOVES = [
    "2024-01-02T07:30:00Z",
    "2024-01-05T23:59:00Z",
    "2024-01-08T22:15:00Z",
    "2024-01-12T13:00:00Z",
    "2024-01-16T20:45:00Z",
]


def _stub_deliveries(runtime: Runtime) -> None:
    """Webhooks are recorded (their rows are compared) but not posted anywhere."""
    registry = runtime.registry
    kinds = [JobKind(k, h, registry.shares_reads(k)) for k, h in registry.kinds.items() if k != DELIVER_JOB]
    runtime.worker.registry = JobRegistry([*kinds, JobKind(DELIVER_JOB, lambda ctx, payload: None)])


def _setup(api: Api, runtime: Runtime) -> None:
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    _stub_deliveries(runtime)
    add_endpoint(api)
    customer(api, "c_utc", billing_configuration={"invoice_grace_period": 3}, net_payment_term=10)
    customer(api, "c_ny", timezone="America/New_York", net_payment_term=5)
    customer(api, "c_kol", timezone="Asia/Kolkata", billing_configuration={"invoice_grace_period": 2})
    customer(api, "c_kat", timezone="Asia/Kathmandu")
    customer(api, "c_cha", timezone="Pacific/Chatham")
    customer(api, "c_la", timezone="America/Los_Angeles")
    plan(api, "monthly")
    plan(api, "weekly", interval="weekly", amount_cents=300)
    plan(api, "yearly", interval="yearly", amount_cents=12000, bill_charges_monthly=True)
    plan(api, "quarterly", interval="quarterly", amount_cents=3000, pay_in_advance=True, trial_period=10)
    plan(api, "semiannual", interval="semiannual", amount_cents=6000)
    plan(api, "advance", amount_cents=500, pay_in_advance=True, trial_period=3)
    subscribe(api, "monthly", "s_utc", "c_utc", billing_time="calendar")
    subscribe(
        api, "weekly", "s_ny", "c_ny", billing_time="anniversary", subscription_at="2024-01-03T15:00:00Z"
    )
    subscribe(api, "yearly", "s_kol", "c_kol", billing_time="anniversary", ending_at="2024-01-09T10:00:00Z")
    subscribe(api, "quarterly", "s_kat", "c_kat", billing_time="anniversary")
    subscribe(api, "semiannual", "s_cha", "c_cha", billing_time="calendar", ending_at="2024-02-20T11:00:00Z")
    subscribe(
        api, "advance", "s_la", "c_la", billing_time="anniversary", subscription_at="2024-01-05T09:30:00Z"
    )
    create_coupon(api, code="limited", expiration="time_limit", expiration_at="2024-01-07T10:20:00Z")
    ok(
        api.post(
            "/applied_coupons",
            {"applied_coupon": {"external_customer_id": "c_utc", "coupon_code": "limited"}},
        )
    )
    monthly_rule = {"trigger": "interval", "interval": "monthly", "granted_credits": "5"}
    weekly_rule = {"trigger": "interval", "interval": "weekly", "granted_credits": "1"}
    create_wallet(
        api,
        "c_utc",
        granted_credits="10",
        recurring_transaction_rules=[monthly_rule],
        expiration_at="2024-01-09T08:30:00Z",
    )
    create_wallet(api, "c_ny", granted_credits="3", recurring_transaction_rules=[weekly_rule])


def _normalize(value: str, ids: dict[str, str]) -> str:
    value = _PREFIX.sub("ACM-XXXX", value)
    return _UUID.sub(lambda m: ids.setdefault(m.group(0), f"<id{len(ids)}>"), value)


def _snapshot(runtime: Runtime) -> list[str]:
    """Every job (in creation order) and webhook, then the final state; uuids by first appearance."""
    with runtime.db.session() as session:
        jobs = session.execute(select(Job).order_by(Job.id)).scalars().all()
        hooks = {str(w.id): w for w in session.execute(select(Webhook)).scalars()}
        lines = []
        for job in jobs:
            line: list[Any] = [job.kind, job.unique_key, job.payload, job.status, job.attempts]
            line += [job.run_at.isoformat(), job.created_at.isoformat(), job.last_error]
            if job.kind == DELIVER_JOB:
                hook = hooks[job.payload["webhook_id"]]
                line += [hook.webhook_type, hook.payload, hook.created_at.isoformat()]
            lines.append(json.dumps(line, default=str, sort_keys=True))
        invoices = session.execute(select(Invoice).order_by(Invoice.number)).scalars().all()
        for inv in invoices:
            fields = [inv.number, inv.status, inv.issuing_date, inv.payment_due_date, inv.payment_overdue]
            fields += [inv.total_amount_cents, inv.created_at, inv.updated_at]
            lines.append(json.dumps(fields, default=str))
        for sub in session.execute(select(Subscription).order_by(Subscription.external_id)).scalars():
            fields = [sub.external_id, sub.status, sub.started_at, sub.terminated_at, sub.trial_ended_at]
            lines.append(json.dumps(fields, default=str))
        for coupon in session.execute(select(Coupon).order_by(Coupon.code)).scalars():
            lines.append(json.dumps([coupon.code, coupon.status, coupon.terminated_at], default=str))
        # one wallet per customer: ordered by the customer (their creation times tie)
        wallets = session.execute(
            select(Customer.external_id, Wallet)
            .join(Customer, Customer.id == Wallet.customer_id)
            .order_by(Customer.external_id)
        ).all()
        for external_id, wallet in wallets:
            fields = [external_id, wallet.status, wallet.balance_cents, wallet.terminated_at]
            lines.append(json.dumps(fields, default=str))
        state = session.get(SchedulerState, "hourly")
        lines.append(str(state.last_tick_at if state else None))
    ids: dict[str, str] = {}
    return [_normalize(line, ids) for line in lines]


def _run(api: Api, runtime: Runtime, *, hourly: bool) -> tuple[list[str], list[datetime]]:
    wipe(runtime.db)
    org = make_org(runtime)
    api.headers = {"Authorization": f"Bearer {org.api_key}"}
    _setup(api, runtime)
    ticks: list[datetime] = []
    original = runtime.scheduler.run_tick

    def counting(hour: datetime) -> None:
        ticks.append(hour)
        original(hour)

    runtime.scheduler.run_tick = counting  # type: ignore[method-assign]
    try:
        for i, target in enumerate(MOVES):
            service.advance_clock(runtime, at(target), hourly=hourly)
            if i == 2:  # an API change between two moves
                subscribe(api, "monthly", "s_utc2", "c_utc", billing_time="anniversary")
    finally:
        del runtime.scheduler.run_tick
    return _snapshot(runtime), ticks


def test_skipping_idle_hours_changes_nothing(api, runtime):
    reference, every_hour = _run(api, runtime, hourly=True)
    crossed = int((at(MOVES[-1]) - at("2024-01-01T00:00:00Z")).total_seconds() // 3600)
    assert len(every_hour) == crossed
    # The scenario reaches every kind of due work the bounds model.
    text = "\n".join(reference)
    for expected in (
        "bill:periodic:",
        "bill:trial_end:",
        "bill:terminate:",
        "bill:finalize:",
        "wallets:interval:",
        "wallets:expire:",
        "wallets:refresh:",
        "subscriptions:termination_alert:",
        "invoice.payment_overdue",
        '["limited", "terminated"',
    ):
        assert expected in text, expected
    skipped, ticks = _run(api, runtime, hourly=False)
    assert skipped == reference
    assert ticks == sorted(set(ticks)) and set(ticks) <= set(every_hour)
    assert len(ticks) < crossed // 2


def test_a_task_without_bound_ticks_every_hour(api, runtime):
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    ticked: list[datetime] = []
    runtime.scheduler.tasks.append(TickTask("test.unbounded", lambda ctx, hour: ticked.append(hour)))
    service.advance_clock(runtime, at("2024-01-03T00:00:00Z"))
    assert len(ticked) == 48


def test_an_idle_move_records_the_last_hour_crossed(api, runtime):
    start_clock(runtime, at("2024-01-01T00:00:00Z"))
    ticks: list[datetime] = []
    original = runtime.scheduler.run_tick
    runtime.scheduler.run_tick = lambda hour: (ticks.append(hour), original(hour))  # type: ignore[method-assign]
    service.advance_clock(runtime, at("2024-03-01T05:30:00Z"))
    del runtime.scheduler.run_tick
    assert ticks == []  # no subscription, coupon, wallet, invoice or job: nothing to tick
    assert runtime.scheduler.last_tick() == at("2024-03-01T05:00:00Z")
    assert runtime.clock.now() == at("2024-03-01T05:30:00Z")


@pytest.mark.parametrize(
    ("after", "day", "tz", "expected"),
    [
        ("2024-01-01T03:00:00+00:00", "2024-01-01", "UTC", "2024-01-01T04:00:00+00:00"),
        ("2024-01-01T03:00:00+00:00", "2024-01-02", "UTC", "2024-01-02T00:00:00+00:00"),
        ("2024-01-01T03:00:00+00:00", "2024-01-02", "Asia/Kolkata", "2024-01-01T19:00:00+00:00"),
        ("2024-01-01T03:00:00+00:00", "2024-01-02", "Asia/Kathmandu", "2024-01-01T19:00:00+00:00"),
        ("2024-03-09T12:00:00+00:00", "2024-03-10", "America/New_York", "2024-03-10T05:00:00+00:00"),
        ("2024-03-10T12:00:00+00:00", "2024-03-11", "America/New_York", "2024-03-11T04:00:00+00:00"),
        ("2024-04-05T12:00:00+00:00", "2024-04-07", "America/Santiago", "2024-04-07T04:00:00+00:00"),
        ("2024-09-06T12:00:00+00:00", "2024-09-08", "America/Santiago", "2024-09-08T04:00:00+00:00"),
    ],
)
def test_first_hour_on_local_day(after: str, day: str, tz: str, expected: str) -> None:
    found = first_hour_on_local_day(datetime.fromisoformat(after), date.fromisoformat(day), tz)
    assert found == datetime.fromisoformat(expected).astimezone(UTC)
