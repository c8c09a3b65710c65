"""Issuing a credit note (Lago's ``CreditNotes::CreateService``, billing.md §6.4.1–§6.4.2).

Order of the checks, each refusing before anything is stored: the invoice (404
``invoice_not_found``); its type and status (405 ``invalid_type_or_status``: invoice version
< 2, a credit invoice without active wallet, or an unpaid one asked for credit or refund —
automatic notes skip this); the reason (422); the items (404 ``fee_not_found``, then 422 on the
first invalid item); the note's amounts (422, ``validate_credit_note``).

The note takes its invoice's status (``draft`` on a draft invoice, finalized with it; a voided
invoice's note is ``finalized``). A finalized note is *issued*: its offset settles the invoice
(paid once nothing is due), the wallet credits of a credit invoice's refund are voided, and
``credit_note.created`` is queued — exactly once per note.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billow.billing.math import CreditNoteAppliedTax as AppliedTaxLine
from billow.billing.math import compute_credit_note, credit_note_taxes, validate_credit_note
from billow.billing.math.fees import round_cents
from billow.billing.models import Invoice, InvoiceAppliedTax
from billow.billing.parties import invoice_parties
from billow.billing.service import InvoiceUpdateInput, update_invoice
from billow.core.errors import MethodNotAllowed, ValidationFailed
from billow.core.ids import new_id
from billow.credit_notes.hooks import void_wallet_credits, wallet_creditable_amount_cents
from billow.credit_notes.items import PreparedItems, prepare_items
from billow.credit_notes.models import REASONS, CreditNote, CreditNoteAppliedTax, CreditNoteItem
from billow.credit_notes.numbering import credit_note_number, next_sequential_id
from billow.credit_notes.repository import prior_taxes_rounding
from billow.credit_notes.schemas import CreditNoteRequest
from billow.db.context import Ctx
from billow.subscriptions.periods import local_date
from billow.webhooks.emitter import emit

CREDIT_NOTES_MIN_VERSION = 2
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 100
METADATA_VALUE_MAX = 255


def check_metadata(value: Any) -> dict[str, Any] | None:
    """Lago's item metadata: an object of ≤ 50 keys (≤ 100 chars) whose values are null or
    strings (≤ 255 chars); anything else is a 422 ``metadata: value_is_invalid``."""
    if value is None:
        return None
    valid = isinstance(value, dict) and len(value) <= METADATA_MAX_KEYS
    if valid:
        valid = all(
            isinstance(key, str)
            and len(key) <= METADATA_KEY_MAX
            and (item is None or (isinstance(item, str) and len(item) <= METADATA_VALUE_MAX))
            for key, item in value.items()
        )
    if not valid:
        raise ValidationFailed({"metadata": ["value_is_invalid"]})
    return dict(value)


def type_or_status_allowed(invoice: Invoice, request: CreditNoteRequest, wallet: int | None) -> bool:
    """Lago's ``valid_type_or_status?`` for a note asked through the API."""
    if invoice.invoice_type == "credit":
        if wallet is None:
            return False
        if invoice.payment_status in ("pending", "failed"):
            if request.credit_amount_cents > 0 or request.refund_amount_cents > 0:
                return False
        elif invoice.payment_status != "succeeded":
            return False
    return invoice.version_number >= CREDIT_NOTES_MIN_VERSION


def check_type_and_reason(ctx: Ctx, invoice: Invoice, request: CreditNoteRequest) -> None:
    """405 ``invalid_type_or_status`` (not for automatic notes), then 422 on the reason."""
    if not request.automatic:
        wallet = wallet_creditable_amount_cents(ctx, invoice) if invoice.invoice_type == "credit" else None
        if not type_or_status_allowed(invoice, request, wallet):
            raise MethodNotAllowed("invalid_type_or_status")
    if request.reason not in REASONS:
        raise ValidationFailed({"reason": ["value_is_invalid"]})


def _validate(
    prepared: PreparedItems, request: CreditNoteRequest, precise_taxes: Decimal, computed_total: int
) -> None:
    """§6.4.1 note-level checks. The item total is compared with the precise taxes the note
    really takes (an exhausting note absorbs earlier rounding), as Lago does. The total must
    stay positive once forced to rounded subtotal + taxes (a 1-cent request on empty items
    would otherwise store a note of 0)."""
    items = prepared.math_items
    errors = validate_credit_note(
        prepared.before,
        items,
        credit_amount_cents=request.credit_amount_cents,
        refund_amount_cents=request.refund_amount_cents,
        offset_amount_cents=request.offset_amount_cents,
    )
    total = request.credit_amount_cents + request.refund_amount_cents + request.offset_amount_cents
    taxes = credit_note_taxes(items)
    expected = taxes.items_amount_cents - taxes.precise_coupons_adjustment_amount_cents + precise_taxes
    base = [code for code in errors.get("base", []) if code != "does_not_match_item_amounts"]
    if abs(total - round_cents(expected)) > 1:
        base.insert(0, "does_not_match_item_amounts")
    if computed_total <= 0 and "total_amount_must_be_positive" not in base:
        base.append("total_amount_must_be_positive")
    if base:
        errors["base"] = base
    else:
        errors.pop("base", None)
    if errors:
        raise ValidationFailed(errors)


def create_credit_note(ctx: Ctx, invoice: Invoice, request: CreditNoteRequest) -> CreditNote:
    """Check, compute and store a note on ``invoice`` (whose row the caller locked)."""
    check_type_and_reason(ctx, invoice, request)
    prepared = prepare_items(ctx, invoice, request.items)
    exhausts = prepared.exhausts_invoice
    prior = prior_taxes_rounding(ctx, invoice) if exhausts else Decimal(0)
    amounts = compute_credit_note(
        prepared.math_items,
        credit_amount_cents=request.credit_amount_cents,
        refund_amount_cents=request.refund_amount_cents,
        offset_amount_cents=request.offset_amount_cents,
        exhausts_invoice=exhausts,
        prior_taxes_rounding_adjustment=prior,
    )
    _validate(prepared, request, amounts.precise_taxes_amount_cents, amounts.total_amount_cents)
    now = ctx.now()
    sequential_id = next_sequential_id(ctx, invoice)
    note = CreditNote(
        id=new_id(),
        organization_id=ctx.org_id,
        customer_id=invoice.customer_id,
        invoice_id=invoice.id,
        sequential_id=sequential_id,
        number=credit_note_number(invoice, sequential_id),
        issuing_date=local_date(now, invoice_parties(ctx, invoice).timezone),
        status="draft" if invoice.status == "draft" else "finalized",
        credit_status="available",
        refund_status="pending" if amounts.refund_amount_cents > 0 else None,
        reason=request.reason,
        description=request.description,
        currency=invoice.currency,
        total_amount_cents=amounts.total_amount_cents,
        taxes_amount_cents=amounts.taxes_amount_cents,
        precise_taxes_amount_cents=amounts.precise_taxes_amount_cents,
        taxes_rate=amounts.taxes_rate,
        sub_total_excluding_taxes_amount_cents=amounts.sub_total_excluding_taxes_amount_cents,
        coupons_adjustment_amount_cents=amounts.coupons_adjustment_amount_cents,
        precise_coupons_adjustment_amount_cents=amounts.precise_coupons_adjustment_amount_cents,
        credit_amount_cents=amounts.credit_amount_cents,
        balance_amount_cents=amounts.balance_amount_cents,
        refund_amount_cents=amounts.refund_amount_cents,
        offset_amount_cents=amounts.offset_amount_cents,
        metadata_value=request.metadata,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(note)
    ctx.session.flush()
    for fee, item in prepared.items:
        ctx.session.add(
            CreditNoteItem(
                id=new_id(),
                organization_id=ctx.org_id,
                credit_note_id=note.id,
                fee_id=fee.id,
                amount_cents=item.amount_cents,
                precise_amount_cents=item.precise_amount_cents,
                amount_currency=invoice.currency,
                created_at=now,
                updated_at=now,
            )
        )
    write_applied_taxes(ctx, invoice, note, amounts.applied_taxes)
    ctx.session.flush()
    if note.status == "finalized":
        issue(ctx, invoice, note)
    return note


def write_applied_taxes(
    ctx: Ctx, invoice: Invoice, note: CreditNote, applied: Sequence[AppliedTaxLine]
) -> None:
    descriptions = dict(
        ctx.session.execute(
            select(InvoiceAppliedTax.tax_code, InvoiceAppliedTax.tax_description).where(
                InvoiceAppliedTax.invoice_id == invoice.id
            )
        ).all()
    )
    now = ctx.now()
    for tax in applied:
        ctx.session.add(
            CreditNoteAppliedTax(
                id=new_id(),
                organization_id=ctx.org_id,
                credit_note_id=note.id,
                tax_id=_uuid(tax.tax.tax_id),
                tax_name=tax.tax.name,
                tax_code=tax.tax.code,
                tax_rate=tax.tax.rate,
                tax_description=descriptions.get(tax.tax.code),
                amount_currency=invoice.currency,
                amount_cents=tax.amount_cents,
                precise_amount_cents=tax.precise_amount_cents,
                base_amount_cents=tax.base_amount_cents,
                created_at=now,
                updated_at=now,
            )
        )


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def issue(ctx: Ctx, invoice: Invoice, note: CreditNote) -> None:
    """What a finalized note does once: settle the invoice by its offset, void the refunded
    wallet credits of a credit invoice, and queue ``credit_note.created``."""
    if note.offset_amount_cents > 0:
        invoice.total_offsetted_credit_note_amount_cents += note.offset_amount_cents
        invoice.updated_at = ctx.now()
        ctx.session.flush()
        due = (
            invoice.total_amount_cents
            - invoice.total_paid_amount_cents
            - invoice.total_offsetted_credit_note_amount_cents
        )
        if invoice.status != "voided" and due <= 0 and invoice.payment_status != "succeeded":
            update_invoice(ctx, invoice, InvoiceUpdateInput(payment_status="succeeded"), {"payment_status"})
    if invoice.invoice_type == "credit" and note.refund_amount_cents > 0:
        void_wallet_credits(ctx, invoice, note)
    emit(ctx, "credit_note.created", note)
