"""Exactly once: double ticks, duplicate jobs, the unique index as backstop, a job failing half way,
and two workers racing on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from billow.billing import invoicing
from billow.billing.fees.engine import build_fee_engine
from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.customers.schemas import CustomerInput
from billow.customers.service import upsert_customer
from billow.db.context import Ctx
from billow.jobs.models import Job
from billow.jobs.queue import enqueue
from billow.jobs.worker import Worker
from billow.subscriptions.create import create_subscription
from billow.subscriptions.schemas import SubscriptionCreateInput
from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe, tick_at
from tests.pricing.helpers import ok

BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)


def _count(runtime, model: Any) -> int:
    with runtime.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _bill_jobs(runtime) -> list[Job]:
    with runtime.db.session() as session:
        return list(
            session.scalars(select(Job).where(Job.kind == invoicing.BILL_SUBSCRIPTIONS_JOB).order_by(Job.id))
        )


def _setup(api, runtime, subscriptions: int = 2) -> None:
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=3100)
    for n in range(subscriptions):
        subscribe(api, external_id=f"sub_{n}")
    drain(api, runtime)


def test_ticking_the_same_hour_twice_bills_each_period_once(api, runtime):
    _setup(api, runtime)
    tick_at(runtime, BILLING_DAY)
    runtime.scheduler.run_tick(BILLING_DAY)
    runtime.worker.drain()
    [invoice] = invoices(api)
    assert len(invoice["billing_periods"]) == 2
    assert len(_bill_jobs(runtime)) == 1
    assert _bill_jobs(runtime)[0].unique_key.startswith("bill:periodic:")


def test_a_second_job_for_a_billed_period_ends_silently(api, runtime, org):
    _setup(api, runtime)
    tick_at(runtime, BILLING_DAY)
    payload = _bill_jobs(runtime)[0].payload
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        enqueue(ctx, invoicing.BILL_SUBSCRIPTIONS_JOB, payload, unique_key="another-key")
    runtime.worker.drain()
    assert len(invoices(api)) == 1
    assert {j.status for j in _bill_jobs(runtime)} == {"succeeded"}


def test_the_unique_index_is_the_backstop(api, runtime, org):
    _setup(api, runtime)
    tick_at(runtime, BILLING_DAY)
    payload = _bill_jobs(runtime)[0].payload
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        created = invoicing.bill_subscriptions(ctx, build_fee_engine(), payload)
        assert created == []
    assert _count(runtime, Invoice) == 1
    assert _count(runtime, InvoiceSubscription) == 2


def test_a_job_failing_half_way_leaves_nothing_and_succeeds_on_retry(api, runtime, monkeypatch):
    _setup(api, runtime)
    real = invoicing.settle_generated
    calls = {"n": 0}

    def flaky(ctx: Ctx, invoice: Invoice, parties: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom after the fees were written")
        real(ctx, invoice, parties)

    monkeypatch.setattr(invoicing, "settle_generated", flaky)
    tick_at(runtime, BILLING_DAY)
    assert (_count(runtime, Invoice), _count(runtime, Fee), _count(runtime, InvoiceSubscription)) == (0, 0, 0)
    [job] = _bill_jobs(runtime)
    assert (job.status, job.attempts) == ("pending", 1)
    assert "boom" in (job.last_error or "")
    tick_at(runtime, BILLING_DAY + timedelta(seconds=5))
    [invoice] = invoices(api)
    assert (invoice["status"], invoice["fees_amount_cents"]) == ("finalized", 4400)
    assert _bill_jobs(runtime)[0].status == "succeeded"


def _create_many(runtime, org_id: Any, count: int) -> None:
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org_id)
        for n in range(count):
            upsert_customer(ctx, CustomerInput(external_id=f"cus_{n}"))
            create_subscription(
                ctx,
                SubscriptionCreateInput(
                    external_customer_id=f"cus_{n}", plan_code="pro", external_id=f"sub_{n}"
                ),
            )


@pytest.mark.postgres_only
def test_two_workers_bill_each_period_once_with_gapless_numbers(api, runtime, org):
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    ok(api.put("/organizations", {"organization": {"document_numbering": "per_organization"}}))
    plan(api, amount_cents=3100)
    _create_many(runtime, org.id, 500)
    clock_ = runtime.manual_clock
    assert clock_ is not None
    clock_.set(BILLING_DAY)
    runtime.scheduler.run_tick(BILLING_DAY)
    jobs = _bill_jobs(runtime)
    assert len(jobs) == 500
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        for job in jobs:  # a racing duplicate for every period
            enqueue(ctx, invoicing.BILL_SUBSCRIPTIONS_JOB, job.payload, unique_key=f"dup:{job.id}")
    workers = [
        Worker(runtime.db, runtime.clock, runtime.settings, runtime.registry, worker_id=f"w{i}")
        for i in range(2)
    ]
    claimed = [0, 0]

    def run(i: int) -> None:
        while (n := workers[i].run_batch(limit=10)) > 0:
            claimed[i] += n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(c > 0 for c in claimed)
    with runtime.db.session() as session:
        statuses = set(
            session.scalars(select(Job.status).where(Job.kind == invoicing.BILL_SUBSCRIPTIONS_JOB))
        )
        per_sub = session.execute(
            select(InvoiceSubscription.subscription_id, func.count()).group_by(
                InvoiceSubscription.subscription_id
            )
        ).all()
        numbers = sorted(session.scalars(select(Invoice.billing_entity_sequential_id)))
    assert statuses == {"succeeded"}
    assert len(per_sub) == 500
    assert {count for _, count in per_sub} == {1}
    assert numbers == list(range(1, 501))
