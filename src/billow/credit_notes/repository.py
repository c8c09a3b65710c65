"""Queries several credit-note use cases share: look-ups, an invoice's fees as the pure math sees
them, and what the caps of billing.md §6.4.1 need to know about an invoice's earlier notes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import cast

from sqlalchemy import func, select

from billow.billing.math import CreditableInvoice, FeeLine, FeeType, TaxRate, grouping
from billow.billing.models import Fee, FeeAppliedTax, Invoice
from billow.core.errors import NotFound
from billow.core.ids import parse_uuid
from billow.credit_notes.hooks import wallet_creditable_amount_cents
from billow.credit_notes.models import CreditNote, CreditNoteItem
from billow.db.context import Ctx

VISIBLE_INVOICE_STATUSES = ("draft", "finalized", "voided", "failed", "pending")


def lock_invoice(ctx: Ctx, invoice_id: uuid.UUID) -> Invoice | None:
    """The organization's visible invoice, its row locked until the transaction ends
    (``FOR NO KEY UPDATE``: notes of one invoice are created one at a time, so their sequence
    and the invoice's caps cannot race; rows referencing the invoice can still be inserted)."""
    stmt = select(Invoice).where(
        Invoice.id == invoice_id,
        Invoice.organization_id == ctx.org_id,
        Invoice.status.in_(VISIBLE_INVOICE_STATUSES),
    )
    if ctx.dialect == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    return ctx.session.scalar(stmt.execution_options(populate_existing=True))


def find_invoice(ctx: Ctx, raw_id: object, *, lock: bool = True) -> Invoice:
    parsed = parse_uuid(str(raw_id)) if raw_id is not None else None
    invoice = None
    if parsed is not None:
        if lock:
            invoice = lock_invoice(ctx, parsed)
        else:
            invoice = ctx.session.scalar(
                select(Invoice).where(
                    Invoice.id == parsed,
                    Invoice.organization_id == ctx.org_id,
                    Invoice.status.in_(VISIBLE_INVOICE_STATUSES),
                )
            )
    if invoice is None:
        raise NotFound("invoice")
    return invoice


def find_credit_note(ctx: Ctx, lago_id: str, *, finalized_only: bool = True) -> CreditNote:
    parsed = parse_uuid(lago_id)
    note = None
    if parsed is not None:
        stmt = select(CreditNote).where(CreditNote.id == parsed, CreditNote.organization_id == ctx.org_id)
        if finalized_only:
            stmt = stmt.where(CreditNote.status == "finalized")
        note = ctx.session.scalar(stmt)
    if note is None:
        raise NotFound("credit_note")
    return note


def invoice_fees(ctx: Ctx, invoice: Invoice) -> list[Fee]:
    return list(
        ctx.session.scalars(
            select(Fee)
            .where(
                Fee.invoice_id == invoice.id,
                Fee.organization_id == ctx.org_id,
                Fee.deleted_at.is_(None),
            )
            .order_by(Fee.created_at, Fee.id)
        )
    )


def fee_lines(ctx: Ctx, fees: Sequence[Fee]) -> dict[uuid.UUID, FeeLine]:
    """Each fee with its taxes, as :mod:`billow.billing.math` takes it."""
    if not fees:
        return {}
    taxes: dict[uuid.UUID, list[TaxRate]] = {fee.id: [] for fee in fees}
    rows = ctx.session.scalars(
        select(FeeAppliedTax)
        .where(FeeAppliedTax.fee_id.in_([fee.id for fee in fees]))
        .order_by(FeeAppliedTax.created_at, FeeAppliedTax.id)
    )
    for row in rows:
        taxes[row.fee_id].append(
            TaxRate(
                code=row.tax_code,
                rate=row.tax_rate,
                name=row.tax_name,
                tax_id=str(row.tax_id) if row.tax_id else None,
            )
        )
    return {
        fee.id: FeeLine(
            id=str(fee.id),
            fee_type=cast(FeeType, fee.fee_type),
            amount_cents=fee.amount_cents,
            precise_amount_cents=fee.precise_amount_cents,
            taxes=tuple(taxes[fee.id]),
            subscription_id=str(fee.subscription_id) if fee.subscription_id else None,
            charge_id=str(fee.charge_id) if fee.charge_id else None,
            charge_filter_id=str(fee.charge_filter_id) if fee.charge_filter_id else None,
            billable_metric_id=str(fee.billable_metric_id) if fee.billable_metric_id else None,
            grouped_by=grouping(fee.grouped_by),
            precise_coupons_amount_cents=fee.precise_coupons_amount_cents,
        )
        for fee in fees
    }


def credited_by_fee(ctx: Ctx, fee_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Σ ``amount_cents`` of every credit-note item on each fee (any note status, as Lago)."""
    ids = list(fee_ids)
    if not ids:
        return {}
    rows = ctx.session.execute(
        select(CreditNoteItem.fee_id, func.sum(CreditNoteItem.amount_cents))
        .where(CreditNoteItem.fee_id.in_(ids))
        .group_by(CreditNoteItem.fee_id)
    ).all()
    return {fee_id: int(total or 0) for fee_id, total in rows if fee_id is not None}


def invoice_notes(ctx: Ctx, invoice_id: uuid.UUID) -> list[CreditNote]:
    return list(
        ctx.session.scalars(
            select(CreditNote)
            .where(CreditNote.invoice_id == invoice_id, CreditNote.organization_id == ctx.org_id)
            .order_by(CreditNote.sequential_id)
        )
    )


def creditable_invoice(
    ctx: Ctx,
    invoice: Invoice,
    lines: Mapping[uuid.UUID, FeeLine],
    *,
    extra_credited: Mapping[uuid.UUID, int] | None = None,
) -> CreditableInvoice:
    """``invoice`` and its earlier notes for the caps; ``extra_credited`` adds items not stored
    yet (the note being created) to the fees' credited amounts."""
    credited = credited_by_fee(ctx, lines)
    for fee_id, amount in (extra_credited or {}).items():
        credited[fee_id] = credited.get(fee_id, 0) + amount
    finalized = [n for n in invoice_notes(ctx, invoice.id) if n.status == "finalized"]
    credit_invoice = invoice.invoice_type == "credit"
    wallet = wallet_creditable_amount_cents(ctx, invoice) if credit_invoice else None
    return CreditableInvoice(
        fees=tuple(lines.values()),
        fees_amount_cents=invoice.fees_amount_cents,
        total_amount_cents=invoice.total_amount_cents,
        coupons_amount_cents=invoice.coupons_amount_cents,
        progressive_billing_credit_amount_cents=invoice.progressive_billing_credit_amount_cents,
        total_paid_amount_cents=invoice.total_paid_amount_cents,
        credited_amount_cents=sum(n.credit_amount_cents for n in finalized),
        refunded_amount_cents=sum(n.refund_amount_cents for n in finalized),
        offset_amount_cents=sum(n.offset_amount_cents for n in finalized),
        fee_credited_amount_cents={str(k): v for k, v in credited.items()},
        payment_succeeded=invoice.payment_status == "succeeded",
        draft=invoice.status == "draft",
        credit_invoice=credit_invoice,
        wallet_creditable_amount_cents=wallet or 0,
    )


def prior_taxes_rounding(ctx: Ctx, invoice: Invoice) -> Decimal:
    """Σ ``taxes_amount_cents − precise_taxes_amount_cents`` of the invoice's notes."""
    return sum((n.taxes_rounding_adjustment for n in invoice_notes(ctx, invoice.id)), Decimal(0))
