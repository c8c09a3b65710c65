"""``POST /credit_notes/estimate`` (billing.md §6.4.2, Lago's ``CreditNotes::EstimateService``):
what a note on the given items would take in taxes and coupons, and the most it can credit,
refund or offset. Nothing is stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billow.billing.math import (
    estimate_credit_note,
    invoice_offsettable_amount_cents,
    invoice_refundable_amount_cents,
)
from billow.billing.math.fees import round_cents
from billow.billing.models import Invoice, InvoiceAppliedTax
from billow.core.errors import MethodNotAllowed
from billow.credit_notes.creation import CREDIT_NOTES_MIN_VERSION
from billow.credit_notes.hooks import wallet_creditable_amount_cents
from billow.credit_notes.items import parse_items, prepare_items
from billow.credit_notes.repository import find_invoice, prior_taxes_rounding
from billow.credit_notes.serializers import estimate_payload
from billow.db.context import Ctx


def _allowed(ctx: Ctx, invoice: Invoice) -> bool:
    if invoice.invoice_type == "credit" and (
        invoice.payment_status != "succeeded" or wallet_creditable_amount_cents(ctx, invoice) is None
    ):
        return False
    return invoice.version_number >= CREDIT_NOTES_MIN_VERSION


def estimate(ctx: Ctx, invoice_id: Any, raw_items: Any) -> dict[str, Any]:
    """404 ``invoice_not_found`` / ``fee_not_found``, 405 ``invalid_type_or_status``, 422 on
    the items; else the ``estimated_credit_note`` payload. Item amounts are whole cents."""
    invoice = find_invoice(ctx, invoice_id, lock=False)
    if not _allowed(ctx, invoice):
        raise MethodNotAllowed("invalid_type_or_status")
    prepared = prepare_items(ctx, invoice, parse_items(raw_items, whole_cents=True))
    exhausts = prepared.covers_remaining_fees
    credit_invoice = invoice.invoice_type == "credit"
    result = estimate_credit_note(
        prepared.math_items,
        refundable_amount_cents=invoice_refundable_amount_cents(prepared.before),
        credit_invoice=credit_invoice,
        exhausts_invoice=exhausts,
        prior_taxes_rounding_adjustment=prior_taxes_rounding(ctx, invoice) if exhausts else Decimal(0),
    )
    offsettable = round_cents(invoice_offsettable_amount_cents(prepared.before))
    if not credit_invoice:
        offsettable = min(offsettable, result.max_creditable_amount_cents)
    descriptions = dict(
        ctx.session.execute(
            select(InvoiceAppliedTax.tax_code, InvoiceAppliedTax.tax_description).where(
                InvoiceAppliedTax.invoice_id == invoice.id
            )
        ).all()
    )
    items = [(fee.id, item.amount_cents) for fee, item in prepared.items]
    return estimate_payload(invoice, result, items, max(offsettable, 0), descriptions)
