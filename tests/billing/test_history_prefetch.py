"""A subscription's billing history read for a group of billing jobs (``prefetch_histories``:
its rows, computed in Python) answers exactly what the history statement answers, for every
subscription of a real history and every invoice a fee rule may ask about."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from billow.billing.fees.history import (
    PREFETCHED_HISTORY,
    InvoiceFacts,
    load_history,
    note_claimed,
    prefetch_histories,
)
from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.db.context import Ctx
from billow.db.prefetch import MISSING, Prefetched
from billow.subscriptions.models import Subscription
from tests.billing.helpers import clock, customer, plan, start_clock, subscribe, terminate
from tests.pricing.helpers import ok


def _history_scenario(api, runtime) -> None:
    start_clock(runtime, datetime(2024, 1, 10, 9, tzinfo=UTC))
    plan(api, "adv", amount_cents=1000, pay_in_advance=True)
    plan(api, "big", amount_cents=3000, pay_in_advance=True)
    plan(api, "arr", amount_cents=500)
    customer(api, "cus_1")
    customer(api, "cus_2")
    subscribe(api, "adv", external_id="sub_1", customer_id="cus_1")
    subscribe(api, "arr", external_id="sub_2", customer_id="cus_2")
    clock(api, "2024-02-01T01:00:00Z")
    clock(api, "2024-02-15T12:00:00Z")
    # An upgrade: the old subscription's terminating invoice and the new one's starting invoice
    # are created at the same instant.
    body = {"external_customer_id": "cus_1", "plan_code": "big", "external_id": "sub_1"}
    ok(api.post("/subscriptions", {"subscription": body}))
    clock(api, "2024-03-01T01:00:00Z")
    clock(api, "2024-03-10T08:00:00Z")
    terminate(api, "sub_2")
    clock(api, "2024-03-15T10:00:00Z")
    customer(api, "cus_3")
    subscribe(api, "adv", external_id="sub_3", customer_id="cus_3")  # its starting invoice only
    subscribe(api, "arr", external_id="sub_4", customer_id="cus_3")  # not billed yet
    clock(api, "2024-03-20T00:00:00Z")


def _twin(session, external_id: str, reason: str, offset: int) -> None:
    """Another invoice-subscription of ``external_id`` at the instant of its latest one, whose id
    sorts just before (``offset`` -1) or after (+1) it: the statement breaks the tie by id."""
    row = session.scalars(
        select(InvoiceSubscription)
        .join(Subscription, Subscription.id == InvoiceSubscription.subscription_id)
        .where(Subscription.external_id == external_id)
        .order_by(InvoiceSubscription.created_at.desc(), InvoiceSubscription.id.desc())
    ).first()
    assert row is not None
    columns = {c.key: getattr(row, c.key) for c in InvoiceSubscription.__mapper__.column_attrs}
    columns.update(id=uuid.UUID(int=row.id.int + offset), invoicing_reason=reason, recurring=False)
    session.add(InvoiceSubscription(**columns))
    session.flush()


def test_prefetched_history_equals_the_history_statement(api, runtime):
    _history_scenario(api, runtime)
    with runtime.db.session() as session:
        # Ties: sub_3's starting row stays last (its twin sorts before), sub_2's terminating row
        # is followed by a starting twin.
        _twin(session, "sub_3", "subscription_periodic", -1)
        _twin(session, "sub_2", "subscription_starting", +1)
        subscriptions = session.execute(select(Subscription.id, Subscription.organization_id)).all()
        fee_times = session.scalars(select(Fee.created_at).where(Fee.fee_type == "subscription")).all()
        row_times = session.scalars(select(InvoiceSubscription.created_at)).all()
        invoice_ids = list(session.scalars(select(Invoice.id)))
        assert len(subscriptions) == 5 and len(fee_times) >= 5 and len(invoice_ids) >= 6
        instants = sorted(
            {t + d for t in [*fee_times, *row_times] for d in (timedelta(0), timedelta(microseconds=1))}
            | {t - timedelta(microseconds=1) for t in fee_times}
        )
        days = sorted({t.date() for t in fee_times} | {datetime(2024, 1, 9).date()})
        excluded = [(None, None), *((i, None) for i in invoice_ids[:3]), (invoice_ids[0], invoice_ids[1])]
        compared = 0
        answers = set()
        for (sub_id, org_id), created_at, day, (invoice_id, voided_id) in itertools.product(
            subscriptions, instants, days, excluded
        ):
            facts = InvoiceFacts(
                invoice_id=invoice_id,
                created_at=created_at,
                timestamp=created_at,
                voided_invoice_id=voided_id,
            )
            read = load_history(Ctx(session, runtime.clock, runtime.settings, org_id), sub_id, facts, day)
            group = Ctx(session, runtime.clock, runtime.settings, org_id, prefetched=Prefetched())
            prefetch_histories(group, [sub_id])
            assert load_history(group, sub_id, facts, day) == read, (sub_id, facts, day)
            # Taken once: a second read in the group goes to the database.
            assert group.prefetched is not None
            assert group.prefetched.take(PREFETCHED_HISTORY, sub_id) is MISSING
            compared += 1
            answers.add(read)
        assert compared == len(subscriptions) * len(instants) * len(days) * len(excluded)
        # The grid reaches histories that differ in every field the fee rules read.
        for name in (
            "last_is_starting",
            "has_earlier_subscription_fee",
            "ever_billed_subscription_fee",
            "subscription_fee_on_day_elsewhere",
        ):
            assert {getattr(a, name) for a in answers} == {True, False}, name
        assert len({a.invoice_count for a in answers}) >= 3


def test_a_claimed_invoice_joins_the_prefetched_history(api, runtime):
    """What a job's own invoice adds: its invoice-subscription rows, read as the statement reads
    them after the claim (the invoice ``generating``, the row last of that instant or not)."""
    _history_scenario(api, runtime)
    with runtime.db.session() as session:
        sub_id, org_id = session.execute(
            select(Subscription.id, Subscription.organization_id).where(Subscription.external_id == "sub_3")
        ).one()
        row = session.scalars(
            select(InvoiceSubscription)
            .where(InvoiceSubscription.subscription_id == sub_id)
            .order_by(InvoiceSubscription.created_at.desc())
        ).first()
        assert row is not None
        invoice = session.get(Invoice, row.invoice_id)
        assert invoice is not None
        group = Ctx(session, runtime.clock, runtime.settings, org_id, prefetched=Prefetched())
        # Prefetched as if before this invoice existed: its row removed from what was read.
        prefetch_histories(group, [sub_id])
        assert group.prefetched is not None
        rows = group.prefetched.peek(PREFETCHED_HISTORY, sub_id)
        before = len(rows.reasons)
        rows.reasons[:] = [r for r in rows.reasons if r[4] != row.id]
        assert len(rows.reasons) == before - 1
        note_claimed(group, invoice, [row])
        facts = InvoiceFacts(invoice_id=invoice.id, created_at=invoice.created_at, timestamp=row.timestamp)
        day = invoice.created_at.date()
        read = load_history(Ctx(session, runtime.clock, runtime.settings, org_id), sub_id, facts, day)
        assert load_history(group, sub_id, facts, day) == read
        assert read.invoice_count == before
