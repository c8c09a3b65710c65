"""The progressive-billing credit of an invoice (billing.md §5.3), as an ``AdjustmentSource``.

For each subscription of a subscription or progressive-billing invoice, the *latest* finalized
(or failed) progressive-billing invoice of that subscription whose usage window holds this
invoice's ``charges_from`` is credited, before taxes: its fees − its coupons − the credits other
live invoices already drew from it − its credit notes' credit amounts (floor 0), capped at this
invoice's charge fees of the same charges (``billing.math.apply_progressive_billing_credits``).
Every progressive invoice re-bills all usage to date, so crediting the latest one is enough.

``persist`` writes the ``credits`` rows (replacing this invoice's earlier ones: a draft is
recomputed from scratch) and, when finalizing, records what could not be credited
(``ProgressiveBillingExcess``) and hands it to ``ProgressiveBillingHooks.on_excess`` — the
credit notes package gives it back as a credit note on the progressive invoice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select

from billow.billing.adjustments import AdjustmentRequest
from billow.billing.math import InvoiceTotals, ProgressiveBillingFee, ProgressiveBillingInvoice, grouping
from billow.billing.models import Credit, Fee, Invoice, InvoiceSubscription
from billow.billing.progressive.models import ProgressiveBillingExcess
from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.db.prefetch import flush
from billow.db.upsert import insert_ignore_stmt

CREDITED_KINDS = ("subscription", "progressive_billing")
BILLED_STATUSES = ("finalized", "failed")
INACTIVE_INVOICE_STATUSES = ("voided", "closed", "deleted")


@dataclass(frozen=True)
class ProgressiveBillingHooks:
    """What packages built on billing add to progressive billing (wired by the runtime).

    * ``credit_notes_credit_amount``: ``(ctx, progressive invoice id)`` → Σ ``credit_amount_cents``
      of its available or consumed credit notes (they reduce what it can still credit);
    * ``on_excess``: issue the credit note giving back a recorded excess (set its
      ``credit_note_id``).
    """

    credit_notes_credit_amount: tuple[Callable[[Ctx, uuid.UUID], int], ...] = ()
    on_excess: tuple[Callable[[Ctx, ProgressiveBillingExcess], object], ...] = ()


def _latest_progressive(excluding: bool) -> Select[Invoice]:
    # The subscription's windows holding ``at`` first, as a fence: a planner that believes few
    # invoices are billed yet (statistics of a first billing run) would otherwise walk every
    # billed invoice of the organization and join each to its invoice-subscriptions.
    windows = (
        select(InvoiceSubscription.invoice_id)
        .where(
            InvoiceSubscription.organization_id == bindparam("org"),
            InvoiceSubscription.subscription_id == bindparam("sub"),
            InvoiceSubscription.charges_from_datetime <= bindparam("at"),
            InvoiceSubscription.charges_to_datetime > bindparam("at"),
        )
        .cte("windows")
        .prefix_with("MATERIALIZED")
    )
    query = (
        select(Invoice)
        .join(windows, windows.c.invoice_id == Invoice.id)
        .where(
            Invoice.organization_id == bindparam("org"),
            Invoice.invoice_type == "progressive_billing",
            Invoice.status.in_(BILLED_STATUSES),
        )
        .order_by(Invoice.issuing_date.desc(), Invoice.created_at.desc(), Invoice.id.desc())
        .limit(1)
    )
    if excluding:
        query = query.where(Invoice.id != bindparam("exclude"))
    return query


# Built once (every invoice asks): the values are bound.
_LATEST_PROGRESSIVE = {excluding: _latest_progressive(excluding) for excluding in (False, True)}


def latest_progressive_invoice(
    ctx: Ctx, subscription_id: uuid.UUID, at: datetime, *, exclude: uuid.UUID | None = None
) -> Invoice | None:
    """The latest finalized/failed progressive invoice of the subscription whose usage window
    holds ``at`` (``charges_from ≤ at < charges_to``)."""
    params: dict[str, object] = {"org": ctx.org_id, "sub": subscription_id, "at": at}
    if exclude is not None:
        params["exclude"] = exclude
    return ctx.session.scalar(_LATEST_PROGRESSIVE[exclude is not None], params)


def _drawn(ctx: Ctx, pb: Invoice, exclude: uuid.UUID | None) -> int:
    query = (
        select(func.coalesce(func.sum(Credit.amount_cents), 0))
        .join(Invoice, Invoice.id == Credit.invoice_id)
        .where(
            Credit.organization_id == ctx.org_id,
            Credit.progressive_billing_invoice_id == pb.id,
            Invoice.status.not_in(INACTIVE_INVOICE_STATUSES),
        )
    )
    if exclude is not None:
        query = query.where(Credit.invoice_id != exclude)
    return int(ctx.session.scalar(query) or 0)


def progressive_invoice_input(
    ctx: Ctx, pb: Invoice, subscription_id: uuid.UUID, exclude: uuid.UUID | None = None
) -> ProgressiveBillingInvoice:
    fees = ctx.session.scalars(
        select(Fee)
        .where(Fee.invoice_id == pb.id, Fee.fee_type == "charge", Fee.deleted_at.is_(None))
        .order_by(Fee.created_at, Fee.id)
    ).all()
    hooks = ctx.hooks.get(ProgressiveBillingHooks)
    return ProgressiveBillingInvoice(
        id=str(pb.id),
        subscription_id=str(subscription_id),
        fees_amount_cents=pb.fees_amount_cents,
        fees=tuple(
            ProgressiveBillingFee(
                charge_id=str(f.charge_id),
                amount_cents=f.amount_cents,
                charge_filter_id=str(f.charge_filter_id) if f.charge_filter_id else None,
                grouped_by=grouping(f.grouped_by),
            )
            for f in fees
            if f.charge_id is not None
        ),
        coupons_amount_cents=pb.coupons_amount_cents,
        credits_drawn_amount_cents=_drawn(ctx, pb, exclude),
        credit_notes_credit_amount_cents=sum(cb(ctx, pb.id) for cb in hooks.credit_notes_credit_amount),
    )


class ProgressiveCreditSource:
    """``AdjustmentSource`` of the progressive-billing credit (see module doc)."""

    name = "progressive_billing_credit"

    def presence(self, ctx: Ctx, request: AdjustmentRequest) -> bool:
        """No probe: ``collect`` skips the subscriptions whose history shows no progressive
        invoice (``request.without_progressive_invoices``) and reads only for the others."""
        return request.kind in CREDITED_KINDS

    def collect(self, ctx: Ctx, request: AdjustmentRequest) -> Mapping[str, Any]:
        if request.kind not in CREDITED_KINDS:
            return {}
        rows = request.subscription_rows
        if rows is None:
            rows = tuple(
                ctx.session.scalars(
                    select(InvoiceSubscription)
                    .where(InvoiceSubscription.invoice_id == request.invoice.id)
                    .order_by(InvoiceSubscription.created_at, InvoiceSubscription.id)
                )
            )
        invoices: list[ProgressiveBillingInvoice] = []
        seen: set[uuid.UUID] = set()
        for row in rows:
            if row.charges_from_datetime is None or row.subscription_id in seen:
                continue
            if row.subscription_id in request.without_progressive_invoices:
                continue
            seen.add(row.subscription_id)
            pb = latest_progressive_invoice(
                ctx, row.subscription_id, row.charges_from_datetime, exclude=request.invoice.id
            )
            if pb is not None:
                invoices.append(progressive_invoice_input(ctx, pb, row.subscription_id, request.invoice.id))
        return {"progressive_billing_invoices": tuple(invoices)} if invoices else {}

    def persist(self, ctx: Ctx, request: AdjustmentRequest, totals: InvoiceTotals) -> None:
        invoice = request.invoice
        if not request.new_invoice:
            ctx.session.execute(
                delete(Credit).where(
                    Credit.invoice_id == invoice.id, Credit.progressive_billing_invoice_id.is_not(None)
                )
            )
        now = ctx.now()
        for credit in totals.progressive_billing_credits:
            pb_id = uuid.UUID(credit.progressive_billing_invoice_id)
            if credit.amount_cents > 0:
                ctx.session.add(
                    Credit(
                        id=new_id(),
                        organization_id=ctx.org_id,
                        invoice_id=invoice.id,
                        progressive_billing_invoice_id=pb_id,
                        amount_cents=credit.amount_cents,
                        amount_currency=invoice.currency,
                        before_taxes=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            if credit.excess_amount_cents > 0 and request.finalizing:
                _record_excess(ctx, invoice, pb_id, credit.excess_amount_cents)
        flush(ctx)


def _record_excess(ctx: Ctx, invoice: Invoice, pb_id: uuid.UUID, amount_cents: int) -> None:
    ctx.session.flush()  # the invoice the row points to (its writes may have been deferred)
    now = ctx.now()
    stmt = insert_ignore_stmt(
        ctx.session, ProgressiveBillingExcess, ["invoice_id", "progressive_billing_invoice_id"]
    )
    inserted = ctx.session.execute(
        stmt.values(
            id=new_id(),
            organization_id=ctx.org_id,
            invoice_id=invoice.id,
            progressive_billing_invoice_id=pb_id,
            amount_cents=amount_cents,
            created_at=now,
            updated_at=now,
        ).returning(ProgressiveBillingExcess.id)
    ).scalar()
    if inserted is None:
        return
    excess = ctx.session.get(ProgressiveBillingExcess, inserted)
    assert excess is not None
    for callback in ctx.hooks.get(ProgressiveBillingHooks).on_excess:
        callback(ctx, excess)
