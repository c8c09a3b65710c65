"""Voiding a note's remaining credit (``PUT /credit_notes/{id}/void``), and the notes of a voided
invoice (billing.md §4.9, Lago's ``Invoices::VoidService#create_credit_notes!``)."""

from __future__ import annotations

from decimal import Decimal

from billow.billing.math import (
    CreditNoteItem,
    estimate_credit_note,
    fee_creditable_amount_cents,
    invoice_creditable_amount_cents,
    invoice_refundable_amount_cents,
)
from billow.billing.math.fees import q5, round_cents
from billow.billing.models import Invoice
from billow.core.errors import MethodNotAllowed, NotFound
from billow.credit_notes.creation import create_credit_note
from billow.credit_notes.models import CreditNote
from billow.credit_notes.repository import creditable_invoice, fee_lines, invoice_fees, lock_invoice
from billow.credit_notes.schemas import CreditNoteRequest, ItemRequest
from billow.db.context import Ctx


def void_credit_note(ctx: Ctx, note: CreditNote) -> CreditNote:
    """Only a finalized note with a balance (405 ``no_voidable_amount`` otherwise): its credit
    becomes ``voided`` and its balance 0."""
    if note.status == "draft":
        raise NotFound("credit_note")
    if note.credit_status == "voided" or note.balance_amount_cents <= 0:
        raise MethodNotAllowed("no_voidable_amount")
    now = ctx.now()
    note.credit_status = "voided"
    note.voided_at = now
    note.balance_amount_cents = 0
    note.updated_at = now
    ctx.session.flush()
    return note


def _remaining_items(ctx: Ctx, invoice: Invoice) -> list[tuple[str, Decimal]]:
    fees = invoice_fees(ctx, invoice)
    lines = fee_lines(ctx, fees)
    caps = creditable_invoice(ctx, invoice, lines)
    items = []
    for fee in fees:
        remaining = fee_creditable_amount_cents(caps, lines[fee.id])
        if remaining > 0:
            items.append((str(fee.id), Decimal(remaining)))
    return items


def _estimated_total(ctx: Ctx, invoice: Invoice, items: list[tuple[str, Decimal]]) -> int:
    fees = {str(f.id): f for f in invoice_fees(ctx, invoice)}
    lines = fee_lines(ctx, list(fees.values()))
    caps = creditable_invoice(ctx, invoice, lines)
    math_items = [
        CreditNoteItem(fee=lines[fees[fee_id].id], precise_amount_cents=amount) for fee_id, amount in items
    ]
    estimate = estimate_credit_note(math_items, refundable_amount_cents=invoice_refundable_amount_cents(caps))
    return estimate.max_creditable_amount_cents


def void_limits(ctx: Ctx, invoice: Invoice) -> tuple[int, int]:
    """``(creditable, refundable)``: what ``credit_amount`` / ``refund_amount`` of an invoice
    void may ask (Lago: each, and their sum, ≤ creditable; refund ≤ refundable)."""
    lines = fee_lines(ctx, invoice_fees(ctx, invoice))
    caps = creditable_invoice(ctx, invoice, lines)
    return round_cents(invoice_creditable_amount_cents(caps)), int(invoice_refundable_amount_cents(caps))


def create_credit_note_for_void(
    ctx: Ctx, invoice: Invoice, credit_amount_cents: int, refund_amount_cents: int
) -> CreditNote | None:
    """The notes of an invoice voided with ``generate_credit_note`` (call it once the invoice is
    ``voided``; its notes are then ``finalized``): the requested credit/refund on every fee's
    remaining amount in proportion, then one note for whatever stays creditable, voided at once.
    Both are announced (``credit_note.created``). Returns the requested note, if any."""
    locked = lock_invoice(ctx, invoice.id) or invoice
    requested: CreditNote | None = None
    wanted = credit_amount_cents + refund_amount_cents
    if wanted > 0:
        base = _remaining_items(ctx, locked)
        base_total = _estimated_total(ctx, locked, base) if base else 0
        if base_total > 0:
            ratio = Decimal(wanted) / Decimal(base_total)
            items = tuple(
                ItemRequest(fee_id=fee_id, amount_cents=q5(amount * ratio)) for fee_id, amount in base
            )
            requested = create_credit_note(
                ctx,
                locked,
                CreditNoteRequest(
                    items=items,
                    reason="other",
                    description=f"Credit note created due to voided invoice {invoice.id}",
                    credit_amount_cents=credit_amount_cents,
                    refund_amount_cents=refund_amount_cents,
                    automatic=True,
                ),
            )
    lines = fee_lines(ctx, invoice_fees(ctx, locked))
    if round_cents(invoice_creditable_amount_cents(creditable_invoice(ctx, locked, lines))) > 0:
        remaining = _remaining_items(ctx, locked)
        total = _estimated_total(ctx, locked, remaining)
        if total > 0:
            leftover = create_credit_note(
                ctx,
                locked,
                CreditNoteRequest(
                    items=tuple(ItemRequest(fee_id=f, amount_cents=a) for f, a in remaining),
                    reason="other",
                    description=f"Credit note created due to voided invoice {invoice.id}",
                    credit_amount_cents=total,
                    automatic=True,
                ),
            )
            void_credit_note(ctx, leftover)
    return requested
