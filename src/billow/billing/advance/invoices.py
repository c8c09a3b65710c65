"""Where a pay-in-advance fee goes (billing.md §4.12, §4.3).

* Invoiceable charge: its own ``subscription``-type invoice — one invoice-subscription with the
  reason ``in_advance_charge`` — issued on the event's day in the customer's timezone, never a
  draft (no grace period), computed fees → coupons → taxes → credit notes → wallets
  (``write_fees(kind="in_advance_charge")`` and its adjustment sources), then finalized with a
  number and ``invoice.created`` — or ``closed`` by the zero-amount rule, and then no webhook at
  all, as Lago. ``fee.created`` precedes ``invoice.created``.
* Non-invoiceable charge: the fee is stored unattached (``invoice_id`` null) with its taxes,
  and ``fee.created`` is sent.

Exactly once: a fee carries ``idempotency_key`` (unique per organization), checked first and
enforced by the index; a duplicate rolls the savepoint back (invoice included) and is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billow.billing.advance.fees import AdvanceSubject
from billow.billing.assembly import write_fees
from billow.billing.boundaries import compute_boundaries, period_key
from billow.billing.drafts import new_generating_invoice, new_invoice_subscription
from billow.billing.events import FeeEvent
from billow.billing.fees.drafts import FeeDraft
from billow.billing.fees.rows import fee_from_draft
from billow.billing.finalization import finalize_or_close
from billow.billing.issuing import finalizes_zero_amount
from billow.billing.math import FeeLine, FeeTaxes, TaxRate, compute_fee_taxes, grouping
from billow.billing.models import Fee, FeeAppliedTax, Invoice, InvoiceSubscription
from billow.billing.recurring import recurring_period_billed
from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.pricing.taxes.models import Tax
from billow.subscriptions.periods import local_date
from billow.webhooks.emitter import emit

IN_ADVANCE_CHARGE = "in_advance_charge"


def fee_exists(ctx: Ctx, key: str) -> bool:
    return (
        ctx.session.scalar(
            select(Fee.id).where(Fee.organization_id == ctx.org_id, Fee.idempotency_key == key).limit(1)
        )
        is not None
    )


def fee_row(ctx: Ctx, draft: FeeDraft, customer_id: uuid.UUID) -> Fee:
    """An unattached fee row (no invoice) from ``draft``, created now. Pay-in-advance drafts
    carry their ``idempotency_key`` (``None`` for estimates); they have no fixed charge, add-on
    or description, so those columns stay null as before."""
    now = ctx.now()
    return fee_from_draft(
        draft,
        organization_id=ctx.org_id,
        customer_id=customer_id,
        invoice_id=None,
        created_at=now,
        updated_at=now,
    )


def standalone_taxes(row: Fee, taxes: Sequence[TaxRate]) -> FeeTaxes:
    """A fee's taxes outside any invoice (Lago's ``Fees::ApplyTaxesService``)."""
    return compute_fee_taxes(
        FeeLine(
            id=str(row.id),
            fee_type="charge",
            amount_cents=row.amount_cents,
            precise_amount_cents=row.precise_amount_cents,
            taxes=tuple(taxes),
            subscription_id=str(row.subscription_id) if row.subscription_id else None,
            charge_id=str(row.charge_id) if row.charge_id else None,
            billable_metric_id=str(row.billable_metric_id) if row.billable_metric_id else None,
            grouped_by=grouping(row.grouped_by),
        )
    )


def tax_rows(ctx: Ctx, row: Fee, computed: FeeTaxes) -> list[FeeAppliedTax]:
    """Set ``row``'s tax amounts and build its applied-tax rows."""
    row.taxes_amount_cents = computed.taxes_amount_cents
    row.taxes_precise_amount_cents = computed.taxes_precise_amount_cents
    row.taxes_rate = computed.taxes_rate
    ids = {uuid.UUID(t.tax.tax_id) for t in computed.applied_taxes if t.tax.tax_id}
    descriptions: dict[str, str | None] = {}
    if ids:
        found = ctx.session.execute(select(Tax.id, Tax.description).where(Tax.id.in_(ids)))
        descriptions = {str(tax_id): description for tax_id, description in found}
    now = ctx.now()
    return [
        FeeAppliedTax(
            id=new_id(),
            organization_id=ctx.org_id,
            fee_id=row.id,
            tax_id=uuid.UUID(applied.tax.tax_id) if applied.tax.tax_id else None,
            tax_name=applied.tax.name,
            tax_code=applied.tax.code,
            tax_rate=applied.tax.rate,
            tax_description=descriptions.get(applied.tax.tax_id or ""),
            amount_currency=row.amount_currency,
            amount_cents=applied.amount_cents,
            precise_amount_cents=applied.precise_amount_cents,
            created_at=now,
            updated_at=now,
        )
        for applied in computed.applied_taxes
    ]


def store_unattached(ctx: Ctx, draft: FeeDraft, customer_id: uuid.UUID) -> Fee | None:
    """Store a fee outside any invoice with its taxes; ``None`` if its key exists already. The
    caller sends ``fee.created``."""
    row = fee_row(ctx, draft, customer_id)
    applied = tax_rows(ctx, row, standalone_taxes(row, draft.taxes))
    try:
        with ctx.session.begin_nested():
            ctx.session.add(row)
            ctx.session.add_all(applied)
            ctx.session.flush()
    except IntegrityError:
        return None
    return row


def unattached_fee(ctx: Ctx, subject: AdvanceSubject, draft: FeeDraft) -> Fee | None:
    """A non-invoiceable charge's fee: stored unattached, then ``fee.created``."""
    row = store_unattached(ctx, draft, subject.parties.customer.id)
    if row is not None:
        emit(ctx, "fee.created", FeeEvent(row, ctx.now()))
    return row


def _new_invoice(ctx: Ctx, subject: AdvanceSubject, draft: FeeDraft) -> Invoice:
    parties = subject.parties
    issuing = local_date(subject.bounds.timestamp, parties.timezone)
    return new_generating_invoice(
        ctx,
        parties,
        invoice_type="subscription",
        currency=draft.amount_currency,
        issuing_date=issuing,
        expected_finalization_date=issuing,
        now=ctx.now(),
    )


def _invoice_subscription(ctx: Ctx, subject: AdvanceSubject, invoice: Invoice) -> InvoiceSubscription:
    billed = subject.billed
    schedule = billed.schedule()
    timestamp = subject.bounds.timestamp
    bounds = compute_boundaries(
        schedule, timestamp, already_billed=partial(recurring_period_billed, ctx, billed.id)
    )
    return new_invoice_subscription(
        ctx,
        invoice,
        billed.id,
        bounds,
        reason=IN_ADVANCE_CHARGE,
        recurring=False,
        period_key=period_key(schedule, bounds),
        timestamp=timestamp,
        now=ctx.now(),
    )


def invoice_fee(ctx: Ctx, subject: AdvanceSubject, draft: FeeDraft) -> tuple[Invoice, Fee] | None:
    """An invoiceable charge's fee on its own ``in_advance_charge`` invoice (see module doc);
    ``None`` if the fee's key exists already (nothing is written then)."""
    invoice = _new_invoice(ctx, subject, draft)
    try:
        with ctx.session.begin_nested():
            ctx.session.add(invoice)
            ctx.session.add(_invoice_subscription(ctx, subject, invoice))
            ctx.session.flush()
            write_fees(
                ctx,
                invoice,
                [draft],
                finalizing=True,
                kind="in_advance_charge",
                subscription_ids=[subject.billed.id],
            )
    except IntegrityError:
        return None
    parties = subject.parties
    fee = ctx.session.scalars(select(Fee).where(Fee.invoice_id == invoice.id)).one()
    closing = invoice.fees_amount_cents == 0 and not finalizes_zero_amount(parties.customer, parties.entity)
    if not closing:
        emit(ctx, "fee.created", FeeEvent(fee, ctx.now()))
    finalize_or_close(ctx, invoice, parties)
    return invoice, fee
