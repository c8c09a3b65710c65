"""Computing a subscription invoice's fees, taxes and totals, and writing them.

Used when an invoice is generated and when a draft is refreshed (recomputed from scratch with the
same timestamp). The invoice row and its invoice-subscriptions exist already; this module
replaces the invoice's fees, applied taxes and amounts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import delete, select

from billow.billing.adjustments import AdjustmentRequest, collect_adjustments, persist_adjustments
from billow.billing.boundaries import Boundaries
from billow.billing.fees.compute import subscription_invoice_fees
from billow.billing.fees.drafts import FeeDraft
from billow.billing.fees.engine import FeeEngine
from billow.billing.fees.history import InvoiceFacts
from billow.billing.fees.rows import fee_from_draft
from billow.billing.fees.taxes import TaxResolver
from billow.billing.math import (
    FeeLine,
    FeeType,
    InvoiceInput,
    InvoiceKind,
    InvoiceTotals,
    TaxRate,
    compute_invoice,
    grouping,
)
from billow.billing.models import Fee, FeeAppliedTax, Invoice, InvoiceAppliedTax, InvoiceSubscription
from billow.billing.subjects import BilledSubscription
from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.db.prefetch import flush
from billow.db.rows import add_new_rows
from billow.pricing.plans.models import Plan
from billow.pricing.taxes.models import Tax
from billow.subscriptions.models import Subscription


@dataclass(frozen=True)
class BilledPeriod:
    """One subscription on the invoice: its row, what billing knows of it, and its boundaries."""

    row: InvoiceSubscription
    billed: BilledSubscription
    bounds: Boundaries


def apply_boundaries(row: InvoiceSubscription, bounds: Boundaries) -> None:
    row.timestamp = bounds.timestamp
    row.from_datetime = bounds.from_datetime
    row.to_datetime = bounds.to_datetime
    row.charges_from_datetime = bounds.charges_from_datetime
    row.charges_to_datetime = bounds.charges_to_datetime
    row.fixed_charges_from_datetime = bounds.fixed_charges_from_datetime
    row.fixed_charges_to_datetime = bounds.fixed_charges_to_datetime


def clear_invoice_fees(ctx: Ctx, invoice: Invoice) -> None:
    fee_ids = select(Fee.id).where(Fee.invoice_id == invoice.id, Fee.organization_id == ctx.org_id)
    ctx.session.execute(delete(FeeAppliedTax).where(FeeAppliedTax.fee_id.in_(fee_ids)))
    # True-up fees point to their parent: remove them first.
    ctx.session.execute(
        delete(Fee).where(Fee.invoice_id == invoice.id, Fee.true_up_parent_fee_id.is_not(None))
    )
    ctx.session.execute(delete(Fee).where(Fee.invoice_id == invoice.id))
    ctx.session.execute(delete(InvoiceAppliedTax).where(InvoiceAppliedTax.invoice_id == invoice.id))
    ctx.session.expire_all()


def _fee_row(ctx: Ctx, invoice: Invoice, draft: FeeDraft) -> Fee:
    return fee_from_draft(
        draft,
        organization_id=ctx.org_id,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        created_at=invoice.created_at,
        updated_at=ctx.now(),
    )


def _descriptions(ctx: Ctx, drafts: Sequence[FeeDraft]) -> dict[str, str | None]:
    ids = {uuid.UUID(t.tax_id) for d in drafts for t in d.taxes if t.tax_id}
    if not ids:
        return {}
    rows = ctx.session.execute(select(Tax.id, Tax.description).where(Tax.id.in_(ids)))
    return {str(tax_id): description for tax_id, description in rows}


def _parent_plans(
    ctx: Ctx, drafts: Sequence[FeeDraft], periods: Sequence[BilledPeriod] | None = None
) -> dict[uuid.UUID, str]:
    """Each subscription's plan, or the parent plan of an override (coupons limited to plans
    match on it, as Lago's ``parent_and_overriden_plans``). ``periods``: the subscriptions with
    their plans as loaded for the invoice (then nothing is read when they cover the drafts)."""
    ids = {d.subscription_id for d in drafts if d.subscription_id is not None}
    if not ids:
        return {}
    if periods is not None:
        known = {p.billed.id: p.billed.plan for p in periods if p.billed.id in ids}
        if len(known) == len(ids):
            return {sub_id: str(plan.parent_id or plan.id) for sub_id, plan in known.items()}
    rows = ctx.session.execute(
        select(Subscription.id, Plan.id, Plan.parent_id)
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.id.in_(ids), Subscription.organization_id == ctx.org_id)
    )
    return {sub_id: str(parent_id or plan_id) for sub_id, plan_id, parent_id in rows}


def _tax_uuid(tax: TaxRate) -> uuid.UUID | None:
    return uuid.UUID(tax.tax_id) if tax.tax_id else None


def write_fees(
    ctx: Ctx,
    invoice: Invoice,
    drafts: Sequence[FeeDraft],
    *,
    finalizing: bool,
    kind: InvoiceKind = "subscription",
    subscription_ids: Sequence[uuid.UUID] = (),
    periods: Sequence[BilledPeriod] | None = None,
    new_invoice: bool = False,
    without_progressive_invoices: frozenset[uuid.UUID] = frozenset(),
) -> InvoiceTotals:
    """Persist ``drafts`` with their taxes, apply the invoice's adjustments (progressive credit,
    coupons, credit notes, prepaid credits — each from its ``AdjustmentSource``), and set the
    invoice's amounts. ``periods``: every subscription of the invoice, when the caller has them
    (what they hold is not read again); ``new_invoice``: the invoice was created in this
    transaction (it has no earlier credits to replace); ``without_progressive_invoices``:
    subscriptions whose history shows no progressive-billing invoice."""
    rows = [_fee_row(ctx, invoice, draft) for draft in drafts]
    plans = _parent_plans(ctx, drafts, periods)
    lines = tuple(
        FeeLine(
            id=str(row.id),
            fee_type=cast(FeeType, draft.fee_type),
            amount_cents=draft.amount_cents,
            precise_amount_cents=draft.precise_amount_cents,
            taxes=draft.taxes,
            subscription_id=str(draft.subscription_id) if draft.subscription_id else None,
            plan_id=plans.get(draft.subscription_id) if draft.subscription_id else None,
            charge_id=str(draft.charge_id) if draft.charge_id else None,
            charge_filter_id=str(draft.charge_filter_id) if draft.charge_filter_id else None,
            billable_metric_id=str(draft.billable_metric_id) if draft.billable_metric_id else None,
            grouped_by=grouping(draft.grouped_by),
        )
        for row, draft in zip(rows, drafts, strict=True)
    )
    request = AdjustmentRequest(
        invoice=invoice,
        kind=kind,
        finalizing=finalizing,
        subscription_ids=tuple(subscription_ids),
        fees=tuple(rows),
        subscription_rows=tuple(p.row for p in periods) if periods is not None else None,
        new_invoice=new_invoice,
        without_progressive_invoices=without_progressive_invoices,
    )
    totals = compute_invoice(
        InvoiceInput(
            kind=kind,
            currency=invoice.currency,
            fees=lines,
            finalizing=finalizing,
            invoice_id=str(invoice.id),
            **collect_adjustments(ctx, request),
        )
    )
    descriptions = _descriptions(ctx, drafts)
    now = ctx.now()
    by_draft = {id(draft): row for row, draft in zip(rows, drafts, strict=True)}
    new_rows: list[Fee | FeeAppliedTax | InvoiceAppliedTax] = []
    for row, draft, computed in zip(rows, drafts, totals.fees, strict=True):
        row.taxes_amount_cents = computed.taxes.taxes_amount_cents
        row.taxes_precise_amount_cents = computed.taxes.taxes_precise_amount_cents
        row.taxes_rate = computed.taxes.taxes_rate
        row.precise_coupons_amount_cents = computed.fee.precise_coupons_amount_cents
        row.precise_credit_notes_amount_cents = computed.precise_credit_notes_amount_cents
        if draft.true_up_parent is not None and id(draft.true_up_parent) in by_draft:
            row.true_up_parent_fee_id = by_draft[id(draft.true_up_parent)].id
        new_rows.append(row)
        for applied in computed.taxes.applied_taxes:
            new_rows.append(
                FeeAppliedTax(
                    id=new_id(),
                    organization_id=ctx.org_id,
                    fee_id=row.id,
                    tax_id=_tax_uuid(applied.tax),
                    tax_name=applied.tax.name,
                    tax_code=applied.tax.code,
                    tax_rate=applied.tax.rate,
                    tax_description=descriptions.get(applied.tax.tax_id or ""),
                    amount_currency=draft.amount_currency,
                    amount_cents=applied.amount_cents,
                    precise_amount_cents=applied.precise_amount_cents,
                    created_at=now,
                    updated_at=now,
                )
            )
    for invoice_tax in totals.applied_taxes:
        new_rows.append(
            InvoiceAppliedTax(
                id=new_id(),
                organization_id=ctx.org_id,
                invoice_id=invoice.id,
                tax_id=_tax_uuid(invoice_tax.tax),
                tax_name=invoice_tax.tax.name,
                tax_code=invoice_tax.tax.code,
                tax_rate=invoice_tax.tax.rate,
                tax_description=descriptions.get(invoice_tax.tax.tax_id or ""),
                amount_currency=invoice.currency,
                amount_cents=invoice_tax.amount_cents,
                precise_amount_cents=invoice_tax.precise_amount_cents,
                fees_amount_cents=invoice_tax.fees_amount_cents,
                taxable_base_amount_cents=invoice_tax.fees_amount_cents,
                created_at=now,
                updated_at=now,
            )
        )
    add_new_rows(ctx.session, new_rows)
    flush(ctx)  # the fees and their taxes: the adjustments' rows point to them
    persist_adjustments(ctx, request, totals)
    # Not flushed here: the amounts go out with the invoice's next write (its status and number
    # when it is settled, in one UPDATE), or with any query's autoflush before.
    _set_amounts(invoice, totals)
    invoice.updated_at = now
    return totals


def _set_amounts(invoice: Invoice, totals: InvoiceTotals) -> None:
    invoice.fees_amount_cents = totals.fees_amount_cents
    invoice.coupons_amount_cents = totals.coupons_amount_cents
    invoice.progressive_billing_credit_amount_cents = totals.progressive_billing_credit_amount_cents
    invoice.sub_total_excluding_taxes_amount_cents = totals.sub_total_excluding_taxes_amount_cents
    invoice.taxes_amount_cents = totals.taxes_amount_cents
    invoice.taxes_rate = totals.taxes_rate
    invoice.sub_total_including_taxes_amount_cents = totals.sub_total_including_taxes_amount_cents
    invoice.credit_notes_amount_cents = totals.credit_notes_amount_cents
    invoice.prepaid_credit_amount_cents = totals.prepaid_credit_amount_cents
    invoice.total_amount_cents = totals.total_amount_cents
    invoice.payment_status = totals.payment_status


def compute_subscription_invoice(
    ctx: Ctx,
    engine: FeeEngine,
    invoice: Invoice,
    periods: Sequence[BilledPeriod],
    taxes: TaxResolver,
    *,
    finalizing: bool,
    new_invoice: bool = False,
) -> InvoiceTotals:
    """Fees of every subscription on ``invoice`` (in order), then taxes and totals.
    ``new_invoice``: created in this transaction (not a draft being refreshed)."""
    subscription_ids = [period.row.subscription_id for period in periods]
    if not periods:
        return write_fees(ctx, invoice, [], finalizing=finalizing, new_invoice=new_invoice)
    facts = InvoiceFacts(
        invoice_id=invoice.id,
        created_at=invoice.created_at,
        timestamp=periods[0].bounds.timestamp,
        skip_charges=invoice.skip_charges,
        voided_invoice_id=invoice.voided_invoice_id,
    )
    drafts: list[FeeDraft] = []
    without_progressive: set[uuid.UUID] = set()
    for period in periods:
        fees = subscription_invoice_fees(ctx, engine, period.billed, period.bounds, facts, taxes)
        drafts.extend(fees.drafts)
        if not fees.history.has_progressive_billing_invoice:
            without_progressive.add(period.billed.id)
    return write_fees(
        ctx,
        invoice,
        drafts,
        finalizing=finalizing,
        subscription_ids=subscription_ids,
        periods=periods,
        new_invoice=new_invoice,
        without_progressive_invoices=frozenset(without_progressive),
    )
