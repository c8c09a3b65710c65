"""Billing-day benchmark: N customers with one monthly subscription each, billed by one tick.

Prints figures, not a test. It builds a fresh database (SQLite file by default, or
``--database-url``), creates the plan, customers and subscriptions through the services, jumps
the manual clock to the next billing day, runs that hour's scheduler tick (the billing tick
streams the due subscriptions and enqueues one job per customer) and drains the queue with
``--workers`` workers, then checks that every subscription got exactly one invoice.

    .venv/bin/python bench/billing.py [--subscriptions 10000] [--workers 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from billow.billing.models import Invoice, InvoiceSubscription
from billow.core.clock import ManualClock
from billow.customers.schemas import CustomerInput
from billow.customers.service import upsert_customer
from billow.db.context import Ctx
from billow.jobs.worker import Worker
from billow.organizations.service import create_organization
from billow.pricing.plans.schemas import PlanInput
from billow.pricing.plans.service import create_plan
from billow.runtime import build_runtime
from billow.settings import Settings
from billow.subscriptions.create import create_subscription
from billow.subscriptions.schemas import SubscriptionCreateInput

START = datetime(2024, 1, 10, 9, tzinfo=UTC)
BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)
PLAN = {
    "name": "Pro",
    "code": "pro",
    "interval": "monthly",
    "amount_cents": 3100,
    "amount_currency": "EUR",
    "pay_in_advance": False,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/billing-bench.db"
    runtime = build_runtime(Settings(database_url=url, clock="manual", clock_start=START))
    clock = ManualClock(START)
    runtime.clock = runtime.scheduler.clock = runtime.worker.clock = clock
    with runtime.db.session() as session:
        org_id = create_organization(session, name="Bench", now=clock.now()).organization.id

    started = time.perf_counter()
    with runtime.db.session() as session:
        create_plan(Ctx(session, clock, runtime.settings, org_id), PlanInput.model_validate(PLAN))
    for first in range(0, args.subscriptions, 500):
        with runtime.db.session() as session:
            ctx = Ctx(session, clock, runtime.settings, org_id)
            for n in range(first, min(args.subscriptions, first + 500)):
                upsert_customer(ctx, CustomerInput(external_id=f"cus_{n}"))
                data = SubscriptionCreateInput(
                    external_customer_id=f"cus_{n}", plan_code="pro", external_id=f"sub_{n}"
                )
                create_subscription(ctx, data)
    runtime.worker.drain()
    print(f"setup: {args.subscriptions} subscriptions in {time.perf_counter() - started:.1f} s")

    clock.set(BILLING_DAY)
    started = time.perf_counter()
    runtime.scheduler.run_tick(BILLING_DAY)
    ticked = time.perf_counter()
    print(f"tick (stream + enqueue): {ticked - started:.2f} s")

    workers = [
        Worker(runtime.db, clock, runtime.settings, runtime.registry, worker_id=f"bench-{i}")
        for i in range(args.workers)
    ]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - ticked
    with runtime.db.session() as session:
        invoices = session.scalar(select(func.count()).select_from(Invoice)) or 0
        periods = session.scalar(select(func.count(func.distinct(InvoiceSubscription.subscription_id)))) or 0
    print(f"billing: {invoices} invoices in {elapsed:.1f} s = {invoices / elapsed:.0f} invoices/s")
    print(f"check: {periods} subscriptions billed once each: {periods == invoices == args.subscriptions}")
    runtime.close()


if __name__ == "__main__":
    main()
