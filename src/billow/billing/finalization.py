"""Where a computed subscription invoice goes next (billing.md §4.2).

* Grace period > 0 (customer → billing entity): ``draft`` and ``invoice.drafted``.
* Otherwise the invoice is finalized (number, ``invoice.created``) — unless it has no fee
  amount and the zero-amount rule says to skip it: then it is ``closed``, with no number and no
  webhook.
* A draft is refreshed (recomputed from scratch with the same timestamp) by
  ``PUT /invoices/{id}/refresh``, and finalized by ``PUT /invoices/{id}/finalize`` or by the hourly
  tick once its ``expected_finalization_date`` has come (UTC date): its issuing date becomes
  today in the customer's timezone (unless a recurring invoice keeps its anchor) and its payment
  due date follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select

from billow.billing.assembly import (
    BilledPeriod,
    apply_boundaries,
    clear_invoice_fees,
    compute_subscription_invoice,
)
from billow.billing.boundaries import compute_boundaries
from billow.billing.events import InvoiceEvent
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.taxes import TaxResolver
from billow.billing.hooks import draft_refresh, invoice_finalized
from billow.billing.issuing import (
    finalizes_zero_amount,
    grace_period_days,
    keeps_anchor,
    net_payment_term_days,
)
from billow.billing.models import Invoice, InvoiceSubscription
from billow.billing.numbering import assign_number
from billow.billing.parties import InvoiceParties, invoice_parties
from billow.billing.recurring import recurring_period_billed
from billow.billing.subjects import load_billed_subscription
from billow.db.context import Ctx
from billow.db.prefetch import flush
from billow.jobs.queue import enqueue
from billow.jobs.registry import HandlerResult
from billow.jobs.scheduler import TickTask
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import local_date
from billow.webhooks.emitter import emit

FINALIZE_INVOICE_JOB = "billing.finalize_invoice"


def number_and_finalize(ctx: Ctx, invoice: Invoice, parties: InvoiceParties, *, now: datetime) -> None:
    """Give ``invoice`` its number and make it ``finalized`` at ``now`` — nothing more: no
    zero-amount rule, no webhook, no finalized hooks (the caller decides those)."""
    assign_number(ctx, invoice, parties.customer, parties.entity, now)
    invoice.status = "finalized"
    invoice.finalized_at = now
    invoice.updated_at = now
    flush(ctx)


def _finalize_now(
    ctx: Ctx,
    invoice: Invoice,
    parties: InvoiceParties,
    *,
    webhook: str = "invoice.created",
    was_draft: bool = False,
) -> None:
    """``finalized`` with its number, ``webhook`` and the finalized hooks, or ``closed`` by the
    zero-amount rule (no number, no webhook). ``was_draft``: finalizing a draft (else the invoice
    goes straight from ``generating``)."""
    now = ctx.now()
    invoice.updated_at = now
    if invoice.fees_amount_cents == 0 and not finalizes_zero_amount(parties.customer, parties.entity):
        invoice.status = "closed"
        flush(ctx)
        return
    number_and_finalize(ctx, invoice, parties, now=now)
    emit(ctx, webhook, InvoiceEvent(invoice, now))
    invoice_finalized(ctx, invoice, was_draft=was_draft)


def settle_generated(ctx: Ctx, invoice: Invoice, parties: InvoiceParties) -> None:
    """A freshly computed subscription invoice: draft during a grace period, else final."""
    if grace_period_days(parties.customer, parties.settings_entity) > 0:
        invoice.status = "draft"
        invoice.updated_at = ctx.now()
        flush(ctx)
        emit(ctx, "invoice.drafted", InvoiceEvent(invoice, ctx.now()))
        return
    _finalize_now(ctx, invoice, parties)


def finalize_or_close(
    ctx: Ctx, invoice: Invoice, parties: InvoiceParties, *, webhook: str = "invoice.created"
) -> None:
    """An invoice that never waits for a grace period (pay-in-advance charges, one-off
    invoices): finalized with its number and ``webhook`` (``invoice.created`` unless told),
    or ``closed`` by the zero-amount rule."""
    _finalize_now(ctx, invoice, parties, webhook=webhook)


def invoice_periods(ctx: Ctx, invoice: Invoice, parties: InvoiceParties) -> list[BilledPeriod]:
    """The invoice's subscriptions with boundaries recomputed at their stored timestamp."""
    rows = list(
        ctx.session.scalars(
            select(InvoiceSubscription)
            .where(
                InvoiceSubscription.invoice_id == invoice.id,
                InvoiceSubscription.organization_id == ctx.org_id,
            )
            .order_by(InvoiceSubscription.created_at, InvoiceSubscription.id)
        )
    )
    periods: list[BilledPeriod] = []
    for row in rows:
        sub = ctx.session.get(Subscription, row.subscription_id)
        assert sub is not None
        billed = load_billed_subscription(ctx, sub, parties.customer, parties.settings_entity)
        schedule = billed.schedule()
        bounds = compute_boundaries(
            schedule,
            row.timestamp,
            already_billed=partial(recurring_period_billed, ctx, sub.id, exclude_invoice=invoice.id),
        )
        apply_boundaries(row, bounds)
        periods.append(BilledPeriod(row, billed, bounds))
    return periods


def refresh_invoice(ctx: Ctx, engine: FeeEngine, invoice: Invoice, *, finalizing: bool = False) -> None:
    """Recompute a draft's fees, taxes and totals from scratch (same timestamp)."""
    parties = invoice_parties(ctx, invoice)
    with draft_refresh(ctx, invoice):
        clear_invoice_fees(ctx, invoice)
        periods = invoice_periods(ctx, invoice, parties)
        taxes = TaxResolver(ctx, parties.customer.billing_entity_id, parties.customer.id)
        compute_subscription_invoice(ctx, engine, invoice, periods, taxes, finalizing=finalizing)
    invoice.ready_to_be_refreshed = False
    ctx.session.flush()


def lock_draft(ctx: Ctx, invoice: Invoice) -> bool:
    """Lock the invoice row (PostgreSQL; SQLite serializes writers) and re-read it: whether it is
    still a draft. Two sessions refreshing or finalizing one draft at once take turns, and the
    second sees the first's outcome — it never recomputes a finalized invoice (which would find
    its coupons already credited and drop them)."""
    stmt = select(Invoice.id).where(Invoice.id == invoice.id, Invoice.organization_id == ctx.org_id)
    if ctx.dialect == "postgresql":
        stmt = stmt.with_for_update()
    ctx.session.execute(stmt)
    ctx.session.refresh(invoice)
    return invoice.status == "draft"


def finalize_draft(ctx: Ctx, engine: FeeEngine, invoice: Invoice) -> Invoice:
    """Refresh a draft in the finalizing context, date it today, then finalize (or close) it."""
    if invoice.status != "draft" or not lock_draft(ctx, invoice):
        return invoice
    parties = invoice_parties(ctx, invoice)
    customer = parties.customer
    recurring = ctx.session.scalar(
        select(InvoiceSubscription.recurring).where(InvoiceSubscription.invoice_id == invoice.id).limit(1)
    )
    if not (recurring and keeps_anchor(customer)):
        invoice.issuing_date = local_date(ctx.now(), parties.timezone)
    refresh_invoice(ctx, engine, invoice, finalizing=True)
    invoice.payment_due_date = invoice.issuing_date + timedelta(
        days=net_payment_term_days(customer, parties.settings_entity)
    )
    _finalize_now(ctx, invoice, parties, was_draft=True)
    return invoice


def handle_finalize_invoice(engine: FeeEngine) -> Callable[[Ctx, dict[str, Any]], HandlerResult]:
    def handler(ctx: Ctx, payload: dict[str, Any]) -> HandlerResult:
        invoice = ctx.session.scalar(
            select(Invoice).where(
                Invoice.id == uuid.UUID(str(payload["invoice_id"])), Invoice.organization_id == ctx.org_id
            )
        )
        if invoice is not None and invoice.status == "draft":
            finalize_draft(ctx, engine, invoice)
        return None

    return handler


def enqueue_due_drafts(ctx: Ctx, hour: datetime) -> int:
    """Tick: drafts whose expected finalization date (else issuing date) is today or earlier
    (UTC date) get a finalization job, once per day."""
    today = hour.date()
    due = func.coalesce(Invoice.expected_finalization_date, Invoice.issuing_date)
    rows = ctx.session.execute(
        select(Invoice.id, Invoice.organization_id).where(Invoice.status == "draft", due <= today)
    ).all()
    count = 0
    for invoice_id, org_id in rows:
        octx = replace(ctx, organization_id=org_id)
        if enqueue(
            octx,
            FINALIZE_INVOICE_JOB,
            {"invoice_id": str(invoice_id)},
            unique_key=f"bill:finalize:{invoice_id}:{today}",
        ):
            count += 1
    return count


def _finalize_drafts_tick(ctx: Ctx, hour: datetime) -> None:
    enqueue_due_drafts(ctx, hour)


def finalization_tick_task() -> TickTask:
    return TickTask("billing.finalize_drafts", _finalize_drafts_tick)
