"""The first rows of every new invoice: the invoice itself, ``generating`` with a draft number,
and the invoice-subscriptions that say which subscription period it bills.

Every kind of invoice starts here — subscription (periodic, starting, terminating), in-advance
charge, progressive billing, one-off and paid-credit — so that they all carry the same parties,
timezone and net payment term. The rows are not added to the session: each caller writes them
its own way (:func:`insert_claiming_periods`, a savepoint whose unique indexes make a second run
fail, or a plain flush).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, inspect
from sqlalchemy.orm import make_transient_to_detached

from billow.billing.boundaries import Boundaries
from billow.billing.fees.history import note_claimed
from billow.billing.issuing import net_payment_term_days
from billow.billing.models import RECURRING_PERIOD_WHERE, Invoice, InvoiceSubscription
from billow.billing.numbering import draft_number
from billow.billing.parties import InvoiceParties
from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.db.prefetch import defer_writes, take
from billow.db.rows import add_new_rows, new_row
from billow.db.upsert import insert_ignore_stmt

_PERIOD_INDEX = ("subscription_id", "period_key")  # uq_invoice_subscriptions_recurring_period
_COLUMNS = tuple((attr.key, attr.columns[0].name) for attr in inspect(InvoiceSubscription).column_attrs)


def new_generating_invoice(
    ctx: Ctx,
    parties: InvoiceParties,
    *,
    invoice_type: str,
    currency: str,
    issuing_date: date,
    now: datetime,
    expected_finalization_date: date | None = None,
    skip_charges: bool = False,
) -> Invoice:
    """A new ``generating``, ``pending``-payment invoice of ``parties`` (issued by
    ``parties.entity``, with its draft number), due ``issuing_date`` plus the net payment term
    (the customer's, else its billing entity's), created ``now``."""
    term = net_payment_term_days(parties.customer, parties.settings_entity)
    return new_row(
        Invoice,
        dict(
            id=new_id(),
            organization_id=ctx.org_id,
            billing_entity_id=parties.entity.id,
            customer_id=parties.customer.id,
            invoice_type=invoice_type,
            status="generating",
            payment_status="pending",
            currency=currency,
            number=draft_number(parties.entity),
            timezone=parties.timezone,
            issuing_date=issuing_date,
            payment_due_date=issuing_date + timedelta(days=term),
            expected_finalization_date=expected_finalization_date,
            net_payment_term=term,
            skip_charges=skip_charges,
            created_at=now,
            updated_at=now,
        ),
    )


def new_invoice_subscription(
    ctx: Ctx,
    invoice: Invoice,
    subscription_id: uuid.UUID,
    bounds: Boundaries,
    *,
    reason: str,
    recurring: bool,
    period_key: str,
    timestamp: datetime,
    now: datetime,
) -> InvoiceSubscription:
    """The row saying that ``invoice`` bills ``subscription_id`` over ``bounds`` (its invoicing
    ``reason``; ``period_key`` is unique per subscription for a ``recurring`` row)."""
    return new_row(
        InvoiceSubscription,
        dict(
            id=new_id(),
            organization_id=ctx.org_id,
            invoice_id=invoice.id,
            subscription_id=subscription_id,
            invoicing_reason=reason,
            recurring=recurring,
            period_key=period_key,
            timestamp=timestamp,
            from_datetime=bounds.from_datetime,
            to_datetime=bounds.to_datetime,
            charges_from_datetime=bounds.charges_from_datetime,
            charges_to_datetime=bounds.charges_to_datetime,
            fixed_charges_from_datetime=bounds.fixed_charges_from_datetime,
            fixed_charges_to_datetime=bounds.fixed_charges_to_datetime,
            created_at=now,
            updated_at=now,
        ),
    )


DEFERRED_CLAIM = "billing.deferred_claim"
"""Prefetched flag (per customer): its invoice's claim may wait for the group's flush."""


def insert_claiming_periods(ctx: Ctx, invoice: Invoice, rows: Sequence[InvoiceSubscription]) -> bool:
    """Write ``invoice`` and its invoice-subscriptions ``rows``; ``False`` — and nothing of
    them left written — when a recurring row's period is billed already (an earlier run, or a
    concurrent worker: the period's unique index decides, ``INSERT … ON CONFLICT DO NOTHING``,
    so no savepoint is needed). On success the rows are in the session as if loaded."""
    session = ctx.session
    if take(ctx, DEFERRED_CLAIM, invoice.customer_id) is True:
        # In a group of billing jobs (``billow.billing.prefetch``): written with the group's
        # other invoices, by plain INSERTs or a COPY (``billow.db.copy_rows``) — a period
        # billed already fails the group, whose jobs then run alone, here below.
        add_new_rows(session, [invoice, *rows])
        defer_writes(ctx)
        note_claimed(ctx, invoice, rows)
        return True
    session.add(invoice)
    session.flush()
    stmt = insert_ignore_stmt(
        session, InvoiceSubscription.__table__, _PERIOD_INDEX, index_where=RECURRING_PERIOD_WHERE
    ).returning(InvoiceSubscription.__table__.c.id)
    values = [{column: getattr(row, key) for key, column in _COLUMNS} for row in rows]
    inserted = set(session.scalars(stmt, values)) if values else set()
    if len(inserted) < len(rows):
        session.execute(delete(InvoiceSubscription).where(InvoiceSubscription.invoice_id == invoice.id))
        session.delete(invoice)
        session.flush()
        return False
    for row in rows:
        make_transient_to_detached(row)
        session.add(row)
    note_claimed(ctx, invoice, rows)
    return True
