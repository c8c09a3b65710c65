"""Exactly once: double ticks, duplicate jobs, the unique index as backstop, a job failing half way,
and two workers racing on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
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
from tests.usage.helpers import charge, current_usage, event, metric

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


def test_one_period_billed_already_drops_the_whole_invoice_and_its_other_rows(api, runtime, org):
    """The first subscription's period is billed on its own; the customer's job for both then
    claims the second period, meets the first's, and leaves nothing of its invoice behind."""
    _setup(api, runtime)
    assert runtime.manual_clock is not None
    runtime.manual_clock.set(BILLING_DAY)
    runtime.scheduler.run_tick(BILLING_DAY)  # the job is queued, not run
    [job] = _bill_jobs(runtime)
    first, second = job.payload["items"]
    assert second["subscription_id"] != first["subscription_id"]
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        [alone] = invoicing.bill_subscriptions(ctx, build_fee_engine(), {**job.payload, "items": [first]})
        alone_id = alone.id
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        assert invoicing.bill_subscriptions(ctx, build_fee_engine(), job.payload) == []
    runtime.worker.drain()  # the queued job meets the same period and ends silently
    assert {j.status for j in _bill_jobs(runtime)} == {"succeeded"}
    with runtime.db.session() as session:
        rows = session.execute(
            select(InvoiceSubscription.invoice_id, InvoiceSubscription.subscription_id)
        ).all()
        assert [(invoice_id, str(sub_id)) for invoice_id, sub_id in rows] == [
            (alone_id, first["subscription_id"])
        ]
        assert list(session.scalars(select(Invoice.id))) == [alone_id]
        assert {fee.invoice_id for fee in session.scalars(select(Fee))} == {alone_id}


def test_a_job_failing_half_way_leaves_nothing_and_succeeds_on_retry(api, runtime, monkeypatch):
    _setup(api, runtime)
    real = invoicing.settle_generated
    failed_alone = {"n": 0}

    def flaky(ctx: Ctx, invoice: Invoice, parties: Any) -> None:
        # Fails the job's first attempt: its run in a group (which then runs it again alone)
        # and that run alone.
        if failed_alone["n"] == 0:
            if ctx.prefetched is None:
                failed_alone["n"] += 1
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


def _create_many(runtime, org_id: Any, customers: int, per_customer: int) -> None:
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org_id)
        for n in range(customers):
            upsert_customer(ctx, CustomerInput(external_id=f"cus_{n}"))
            for k in range(per_customer):
                data = SubscriptionCreateInput(
                    external_customer_id=f"cus_{n}",
                    plan_code="pro",
                    external_id=f"sub_{n}_{k}",
                    consolidate_invoice=per_customer == 1,
                )
                create_subscription(ctx, data)


def _race(runtime, workers: int = 2) -> list[int]:
    """Run ``workers`` workers in threads until the queue is empty; returns the jobs each claimed."""
    pool = [
        Worker(runtime.db, runtime.clock, runtime.settings, runtime.registry, worker_id=f"w{i}")
        for i in range(workers)
    ]
    claimed = [0] * workers

    def run(i: int) -> None:
        while (n := pool[i].run_batch(limit=10)) > 0:
            claimed[i] += n

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return claimed


@pytest.mark.slow
@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("numbering", "customers", "per_customer"),
    [("per_organization", 500, 1), ("per_customer", 250, 2)],
)
def test_two_workers_bill_each_period_once_with_gapless_numbers(
    api, runtime, org, numbering: str, customers: int, per_customer: int
):
    """500 due subscriptions, a racing duplicate job for every period, two workers at once.
    Per customer: two subscriptions with ``consolidate_invoice = false`` each (two jobs, two
    invoices of the same customer billed concurrently)."""
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    ok(api.put("/organizations", {"organization": {"document_numbering": numbering}}))
    plan(api, amount_cents=3100)
    _create_many(runtime, org.id, customers, per_customer)
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
    claimed = _race(runtime)
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
        rows = session.execute(
            select(
                Invoice.customer_id,
                Invoice.sequential_id,
                Invoice.billing_entity_sequential_id,
                Invoice.number,
                Invoice.status,
                Invoice.fees_amount_cents,
            )
        ).all()
    assert statuses == {"succeeded"}
    assert len(per_sub) == 500
    assert {count for _, count in per_sub} == {1}
    assert len(rows) == 500
    assert {(r.status, r.fees_amount_cents) for r in rows} == {("finalized", 2200)}
    assert len({r.number for r in rows}) == 500
    by_customer: dict[Any, list[int]] = {}
    for r in rows:
        by_customer.setdefault(r.customer_id, []).append(r.sequential_id)
    assert len(by_customer) == customers
    assert all(sorted(seqs) == list(range(1, per_customer + 1)) for seqs in by_customer.values())
    entity_numbers = sorted(r.billing_entity_sequential_id for r in rows if r.billing_entity_sequential_id)
    assert entity_numbers == (list(range(1, 501)) if numbering == "per_organization" else [])


def _worker_process(runtime, when: datetime, stop_at: int, marker: Any) -> subprocess.Popen[bytes]:
    """``tests/billing/kill_worker.py`` in a process of its own: a real runtime's worker."""
    args = [runtime.settings.database_url, when.isoformat(), "2", str(stop_at), str(marker)]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.billing.kill_worker", *args],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_when_stopped(proc: subprocess.Popen[bytes], marker: Any) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
        assert time.monotonic() < deadline, "the worker never reached the stop point"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


@pytest.mark.slow
def test_a_worker_killed_mid_invoice_bills_each_period_once_after_its_lease(api, runtime, tmp_path):
    """SIGKILL a real worker process while it holds an invoice's fees uncommitted, twice (the
    second time after it committed a group of two jobs, and with the first job of the next group
    done but uncommitted), then a worker takes the expired leases over: one invoice per
    subscription period, with the totals of an undisturbed run."""
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    calls = metric(api, "calls")
    plan(api, amount_cents=3100, charges=[charge(calls, properties={"amount": "0.5"})])
    for n in range(6):
        customer(api, external_id=f"cus_{n}")
        subscribe(api, external_id=f"sub_{n}", customer_id=f"cus_{n}")
    drain(api, runtime)
    for n in range(6):
        for k in range(n + 1):
            event(api, "calls", datetime(2024, 1, 15, k, tzinfo=UTC), sub=f"sub_{n}")
    clock_ = runtime.manual_clock
    assert clock_ is not None
    clock_.set(BILLING_DAY - timedelta(seconds=1))
    usage = {n: current_usage(api, f"cus_{n}", f"sub_{n}")["amount_cents"] for n in range(6)}
    assert usage == {n: 50 * (n + 1) for n in range(6)}
    clock_.set(BILLING_DAY)
    runtime.scheduler.run_tick(BILLING_DAY)
    assert len(_bill_jobs(runtime)) == 6

    first = tmp_path / "first"
    _kill_when_stopped(_worker_process(runtime, BILLING_DAY, 1, first), first)
    assert _count(runtime, Invoice) == 0  # the killed transaction left nothing
    # the killed worker's group is leased, not yet expired; the rest was never claimed
    assert sorted(j.status for j in _bill_jobs(runtime)) == ["pending"] * 4 + ["running"] * 2
    second = tmp_path / "second"
    later = BILLING_DAY + timedelta(seconds=5)
    _kill_when_stopped(_worker_process(runtime, later, 4, second), second)
    assert _count(runtime, Invoice) == 2  # the first group; the second's first invoice is gone
    last = _worker_process(runtime, later + timedelta(seconds=5), 0, tmp_path / "unused")
    assert last.wait(timeout=60) == 0, last.stderr.read().decode() if last.stderr else ""

    billed = invoices(api)
    assert len(billed) == 6
    assert _count(runtime, InvoiceSubscription) == 6
    assert {j.status for j in _bill_jobs(runtime)} == {"succeeded"}
    totals = {i["customer"]["external_id"]: i for i in billed}
    for n in range(6):
        invoice = totals[f"cus_{n}"]
        assert invoice["status"] == "finalized"
        charge_fees = [f["amount_cents"] for f in invoice["fees"] if f["item"]["type"] == "charge"]
        assert charge_fees == [usage[n]]
        assert invoice["total_amount_cents"] == 2200 + usage[n]
    assert sorted(i["number"] for i in billed) == sorted({i["number"] for i in billed})
