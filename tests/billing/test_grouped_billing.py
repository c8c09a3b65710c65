"""Billing jobs claimed together run as one group (one transaction, bulk reads:
``billow.billing.prefetch``) and bill exactly what each job alone bills: the same scenario is run
with groups and with every job alone (no bulk reads), to the same exact invoices."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from billow.billing import invoicing
from billow.billing.events import InvoiceEvent
from billow.billing.fees.engine import build_fee_engine
from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.billing.serializers import invoice_created_webhook_payload, invoice_created_webhook_payloads
from billow.customers.models import Customer
from billow.db import copy_rows
from billow.db.context import Ctx
from billow.jobs import worker as worker_module
from billow.jobs.models import Job
from billow.webhooks import emitter
from billow.webhooks.emitter import encode_body
from billow.webhooks.models import Webhook
from tests.billing.coupon_helpers import apply, coupon
from tests.billing.helpers import (
    add_endpoint,
    customer,
    drain,
    event,
    invoices,
    plan,
    start_clock,
    subscribe,
    tick_at,
    webhooks,
)
from tests.pricing.helpers import create_tax, ok
from tests.usage.helpers import charge, metric
from tests.wallets.helpers import create_wallet

BILLING_DAY = datetime(2024, 2, 1, tzinfo=UTC)


def customer_external_id(runtime, customer_id: str) -> str:
    with runtime.db.session() as session:
        found = session.get(Customer, uuid.UUID(customer_id))
        assert found is not None
        return found.external_id


@pytest.mark.parametrize("grouped", [True, False], ids=["grouped", "alone"])
def test_a_group_of_billing_jobs_bills_what_each_job_alone_bills(api, runtime, monkeypatch, grouped):
    registry = runtime.worker.registry
    real = registry.preparer
    groups: list[int] = []

    def preparer(kind: str):
        prepare = real(kind)
        if prepare is None or not grouped:
            return None

        def counted(ctx, payloads):
            groups.append(len(payloads))
            prepare(ctx, payloads)

        return counted

    monkeypatch.setattr(registry, "preparer", preparer)
    runs: list[str] = []
    bill = invoicing.bill_subscriptions

    def counted_bill(ctx, engine, payload):
        runs.append(payload["customer_id"])
        return bill(ctx, engine, payload)

    monkeypatch.setattr(invoicing, "bill_subscriptions", counted_bill)
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    add_endpoint(api)
    calls = metric(api, "calls")
    plan(api, "pro", amount_cents=1000, charges=[charge(calls, properties={"amount": "0.5"})])
    plan(api, "basic", amount_cents=500, charges=[charge(calls, properties={"amount": "0.5"})])
    coupon(api, "welcome", amount_cents=300)
    for n in range(1, 7):
        customer(api, f"cus_{n}")
        subscribe(api, external_id=f"sub_{n}", customer_id=f"cus_{n}", plan_code="pro")
    apply(api, "welcome", customer_id="cus_2")
    create_wallet(api, customer_id="cus_3", granted_credits="2.00")
    apply(api, "welcome", customer_id="cus_5")
    drain(api, runtime)
    for n in range(1, 7):
        for hour in range(n):
            event(api, "calls", datetime(2024, 1, 15, hour, tzinfo=UTC), sub=f"sub_{n}")
    # cus_5 downgrades at the end of the period: its own job, a plan switch on the billing day.
    ok(
        api.post(
            "/subscriptions",
            {"subscription": {"external_customer_id": "cus_5", "plan_code": "basic", "external_id": "sub_5"}},
        )
    )
    # cus_6 has two subscriptions: one invoice for both.
    subscribe(api, external_id="sub_6b", customer_id="cus_6", plan_code="basic")
    drain(api, runtime)

    tick_at(runtime, BILLING_DAY)

    billed = {
        (i["customer"]["external_id"], tuple(sorted(s["external_id"] for s in i["subscriptions"]))): (
            i["status"],
            i["fees_amount_cents"],
            i["coupons_amount_cents"],
            i["prepaid_credit_amount_cents"],
            i["total_amount_cents"],
        )
        for i in invoices(api)
        if i["issuing_date"] == "2024-02-01"
    }
    # 1,000 × 22/31 days = 710 (pro since 10 January); calls at 0.50; sub_6b (basic, also since
    # 10 January, no calls): 500 × 22/31 = 355.
    assert billed == {
        ("cus_1", ("sub_1",)): ("finalized", 760, 0, 0, 760),
        ("cus_2", ("sub_2",)): ("finalized", 810, 300, 0, 510),
        ("cus_3", ("sub_3",)): ("finalized", 860, 0, 200, 660),
        ("cus_4", ("sub_4",)): ("finalized", 910, 0, 0, 910),
        ("cus_5", ("sub_5",)): ("finalized", 960, 300, 0, 660),
        ("cus_6", ("sub_6", "sub_6b")): ("finalized", 1365, 0, 0, 1365),
    }
    # Each customer's first invoice; the next billing day, each one's second (cus_5 is now on
    # basic alone, sub_6 and sub_6b still on one invoice).
    assert sorted(i["sequential_id"] for i in invoices(api)) == [1] * 6
    tick_at(runtime, datetime(2024, 3, 1, tzinfo=UTC))
    march = [i for i in invoices(api) if i["issuing_date"] == "2024-03-01"]
    assert sorted(
        (i["customer"]["external_id"], i["sequential_id"], i["total_amount_cents"]) for i in march
    ) == [
        ("cus_1", 2, 1000),
        ("cus_2", 2, 1000),
        ("cus_3", 2, 1000),
        ("cus_4", 2, 1000),
        ("cus_5", 2, 500),
        ("cus_6", 2, 1500),
    ]
    numbers = [i["number"] for i in invoices(api)]
    assert len(set(numbers)) == len(numbers) == 12
    created = [w["invoice"]["customer"]["external_id"] for w in webhooks(runtime, "invoice.created")]
    assert sorted(created) == sorted(["cus_1", "cus_2", "cus_3", "cus_4", "cus_5", "cus_6"] * 2)
    # Every job ran once: no group failed over to its jobs alone.
    assert len(runs) == 12
    if grouped:
        assert groups == [6, 6]  # each day's six billing jobs claimed together, one group
    else:
        assert groups == []


def _count_runs(monkeypatch) -> list[bool]:
    """Each billing job's run: whether it ran in a group (with the group's bulk reads)."""
    runs: list[bool] = []
    bill = invoicing.bill_subscriptions

    def counted_bill(ctx, engine, payload):
        runs.append(ctx.prefetched is not None)
        return bill(ctx, engine, payload)

    monkeypatch.setattr(invoicing, "bill_subscriptions", counted_bill)
    return runs


def _copying(monkeypatch, copied: bool) -> list[int | str]:
    """What each group's last flush copies (``billow.db.copy_rows``): its number of rows, or
    the start of the statement that failed; ``copied``: from one row of a table on (the
    threshold is 100), else never."""
    copies: list[int | str] = []
    real = worker_module.flush_before_commit

    def counted(session):
        try:
            copies.append(real(session))
        except IntegrityError as exc:
            copies.append(str(exc.statement)[:30])
            raise
        return copies[-1]

    monkeypatch.setattr(worker_module, "flush_before_commit", counted)
    monkeypatch.setattr(copy_rows, "COPY_MIN_ROWS", 1 if copied else 1_000_000)
    return copies


@pytest.mark.parametrize("copied", [False, True], ids=["inserted", "copied"])
def test_a_group_writes_taxed_fees_and_invoices_in_one_flush(api, runtime, monkeypatch, copied):
    """Fees, their applied taxes and the invoices' applied taxes of a whole group wait for one
    flush, and go out after the rows they point to — by the unit of work, or copied
    (PostgreSQL) to the same invoices."""
    runs = _count_runs(monkeypatch)
    copies = _copying(monkeypatch, copied)
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    calls = metric(api, "calls")
    plan(api, "pro", amount_cents=1000, charges=[charge(calls, properties={"amount": "0.5"})])
    for n in range(1, 4):
        customer(api, f"cus_{n}")
        subscribe(api, external_id=f"sub_{n}", customer_id=f"cus_{n}", plan_code="pro")
        for hour in range(n):
            event(api, "calls", datetime(2024, 1, 15, hour, tzinfo=UTC), sub=f"sub_{n}")
    drain(api, runtime)
    runs.clear()
    copies.clear()
    tick_at(runtime, BILLING_DAY)
    assert runs == [True, True, True]  # one group, no job run again alone
    # The last job's 2 fees, their 2 applied taxes and its invoice's applied tax (the earlier
    # jobs' rows went out with the reads of the jobs after them).
    assert copies == ([5] if copied and runtime.db.is_postgres else [0])
    billed = sorted(
        (
            i["customer"]["external_id"],
            i["sequential_id"],
            i["fees_amount_cents"],
            i["taxes_amount_cents"],
            i["total_amount_cents"],
            sorted((f["item"]["type"], f["taxes_amount_cents"]) for f in i["fees"]),
            [(t["tax_code"], t["amount_cents"]) for t in i["applied_taxes"]],
        )
        for i in invoices(api)
    )
    # 1,000 × 22/31 days = 710, plus n calls at 0.50; VAT 20 % of each fee.
    assert billed == [
        ("cus_1", 1, 760, 152, 912, [("charge", 10), ("subscription", 142)], [("vat", 152)]),
        ("cus_2", 1, 810, 162, 972, [("charge", 20), ("subscription", 142)], [("vat", 162)]),
        ("cus_3", 1, 860, 172, 1032, [("charge", 30), ("subscription", 142)], [("vat", 172)]),
    ]


@pytest.mark.parametrize("copied", [False, True], ids=["inserted", "copied"])
def test_a_period_billed_already_fails_the_group_whose_jobs_then_run_alone(
    api, runtime, monkeypatch, org, copied
):
    """A deferred claim meets the period's unique index only at the group's flush (an INSERT or
    a COPY): the group rolls back and each job runs alone, where the claim skips the billed
    period silently."""
    copies = _copying(monkeypatch, copied)
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    plan(api, "pro", amount_cents=1000)
    for n in range(1, 4):
        customer(api, f"cus_{n}")
        subscribe(api, external_id=f"sub_{n}", customer_id=f"cus_{n}", plan_code="pro")
    drain(api, runtime)
    assert runtime.manual_clock is not None
    runtime.manual_clock.set(BILLING_DAY)
    runtime.scheduler.run_tick(BILLING_DAY)  # queued, not run
    with runtime.db.session() as session:
        jobs = list(
            session.scalars(select(Job).where(Job.kind == invoicing.BILL_SUBSCRIPTIONS_JOB).order_by(Job.id))
        )
    payloads = {customer_external_id(runtime, j.payload["customer_id"]): j.payload for j in jobs}
    assert sorted(payloads) == ["cus_1", "cus_2", "cus_3"]
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, runtime.settings, org.id)
        [early] = invoicing.bill_subscriptions(ctx, build_fee_engine(), payloads["cus_2"])
        early_id = str(early.id)
    runs = _count_runs(monkeypatch)
    copies.clear()
    assert runtime.worker.drain() == 3
    assert runs == [True, True, True, False, False, False]  # the group, then each job alone
    # The group's last flush failed: on the COPY of the invoice-subscriptions, or the INSERT.
    if copied and runtime.db.is_postgres:
        assert copies == ['COPY "invoice_subscriptions" (']
    else:
        assert copies == ["INSERT INTO invoice_subscriptions"[:30]]
    billed = sorted(
        (i["customer"]["external_id"], i["sequential_id"], i["total_amount_cents"]) for i in invoices(api)
    )
    assert billed == [("cus_1", 1, 710), ("cus_2", 1, 710), ("cus_3", 1, 710)]
    assert [i["lago_id"] for i in invoices(api) if i["customer"]["external_id"] == "cus_2"] == [early_id]
    with runtime.db.session() as session:
        assert {j.status for j in session.scalars(select(Job).where(Job.id.in_([j.id for j in jobs])))} == {
            "succeeded"
        }
        assert session.scalar(select(func.count()).select_from(InvoiceSubscription)) == 3
        assert session.scalar(select(func.count()).select_from(Fee)) == 3


def test_a_groups_invoice_webhooks_are_serialized_together_with_the_payloads_of_each_alone(
    api, runtime, monkeypatch
):
    """The deferred invoices' ``invoice.created`` payloads are built for the whole group at its
    end (one read per related table), byte for byte what each invoice's own serialization at its
    instant gives; a customer whose writes did not wait (a coupon) emits at once."""
    batches: list[int] = []
    real_write = emitter._write_deferred

    def spy(ctx, waiting):
        batches.append(len(waiting))
        real_write(ctx, waiting)

    monkeypatch.setattr(emitter, "_write_deferred", spy)
    statements: list[str] = []
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    add_endpoint(api)
    create_tax(api, "vat", "20.0", applied_to_organization=True)
    calls = metric(api, "calls")
    plan(api, "pro", amount_cents=1000, charges=[charge(calls, properties={"amount": "0.5"})])
    coupon(api, "welcome", amount_cents=300)
    for n in range(1, 5):
        customer(api, f"cus_{n}")
        subscribe(api, external_id=f"sub_{n}", customer_id=f"cus_{n}", plan_code="pro")
        event(api, "calls", datetime(2024, 1, 15, n, tzinfo=UTC), sub=f"sub_{n}")
    apply(api, "welcome", customer_id="cus_2")
    drain(api, runtime)
    runs = _count_runs(monkeypatch)

    def record(conn, cursor, statement, params, context, executemany):
        statements.append(statement.split("(")[0].strip())

    sa_event.listen(runtime.db.engine, "before_cursor_execute", record)
    try:
        tick_at(runtime, BILLING_DAY)
    finally:
        sa_event.remove(runtime.db.engine, "before_cursor_execute", record)
    assert runs == [True] * 4  # one group, no job run again alone
    assert batches == [3]  # cus_1, cus_3, cus_4 deferred; cus_2 (a coupon) emitted at once
    assert statements.count("INSERT INTO webhooks") == 2  # cus_2's, then the group's three
    with runtime.db.session() as session:
        rows = session.scalars(
            select(Webhook)
            .where(Webhook.webhook_type == "invoice.created")
            .order_by(Webhook.created_at, Webhook.id)
        ).all()
        bodies = [json.loads(w.payload) for w in rows]
        assert [b["invoice"]["customer"]["external_id"] for b in bodies] == [
            "cus_1",
            "cus_2",
            "cus_3",
            "cus_4",
        ]
        for webhook, body in zip(rows, bodies, strict=True):
            invoice = session.get(Invoice, uuid.UUID(body["invoice"]["lago_id"]))
            assert invoice is not None
            alone = invoice_created_webhook_payload(session, InvoiceEvent(invoice, webhook.created_at))
            assert body["invoice"] == json.loads(encode_body(alone))
            assert (
                body["invoice"]["fees"]
                and body["invoice"]["subscriptions"]
                and body["invoice"]["applied_taxes"]
            )
        jobs = session.scalars(select(Job).where(Job.kind == emitter.DELIVER_JOB)).all()
        assert sorted(j.payload["webhook_id"] for j in jobs if j.created_at >= BILLING_DAY) == sorted(
            str(w.id) for w in rows
        )
        # Each invoice as of its own instant in one batch (a real clock moves between jobs): the
        # nested subscriptions' current periods follow each one's time.
        first, second = (session.get(Invoice, uuid.UUID(b["invoice"]["lago_id"])) for b in bodies[:2])
        assert first is not None and second is not None
        later = BILLING_DAY + timedelta(days=40)
        together = invoice_created_webhook_payloads(
            session, [InvoiceEvent(first, BILLING_DAY), InvoiceEvent(second, later)]
        )
        assert together == [
            invoice_created_webhook_payload(session, InvoiceEvent(first, BILLING_DAY)),
            invoice_created_webhook_payload(session, InvoiceEvent(second, later)),
        ]
        periods = [p["subscriptions"][0]["current_billing_period_started_at"] for p in together]
        assert periods == ["2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"]
