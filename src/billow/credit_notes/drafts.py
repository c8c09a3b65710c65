"""Draft credit notes follow their draft invoice (Lago's ``CreditNotes::RefreshDraftService`` and
``Invoices::RefreshDraftAndFinalizeService``).

* :func:`follow_refreshed_fees` (``DraftRefreshHooks``): a draft's fees are recomputed from
  scratch; each item of the invoice's draft notes moves to the new fee billing the same thing
  (type, subscription, charge, filter, fixed charge, add-on, grouping) and scales with it
  (``item × new fee / old fee``, 5 dp); the note's taxes and amounts are recomputed (its refund
  and offset kept, the rest credited).
* :func:`finalize_invoice_credit_notes` (``InvoiceFinalizedHooks``): when the invoice is
  finalized its draft notes are too — renumbered after the invoice's final number, then issued
  (offset, ``credit_note.created``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, delete, select

from billow.billing.math import CreditNoteItem as MathItem
from billow.billing.math import compute_credit_note, grouping, precise_total_amount_cents
from billow.billing.math.fees import q5, round_cents
from billow.billing.models import Fee, Invoice
from billow.credit_notes.creation import issue, write_applied_taxes
from billow.credit_notes.models import CreditNote, CreditNoteAppliedTax, CreditNoteItem
from billow.credit_notes.numbering import credit_note_number
from billow.credit_notes.repository import fee_lines, invoice_fees
from billow.db.context import Ctx

FeeKey = tuple[object, ...]


def _key(fee: Fee) -> FeeKey:
    return (
        fee.fee_type,
        fee.subscription_id,
        fee.charge_id,
        fee.charge_filter_id,
        fee.fixed_charge_id,
        fee.add_on_id,
        grouping(fee.grouped_by),
    )


@dataclass(frozen=True)
class _Moved:
    item_id: uuid.UUID
    key: FeeKey
    old_amount_cents: int


# Built once (asked for every invoice; building a statement costs more than running it): the
# values are bound.
_DRAFT_NOTES = (
    select(CreditNote)
    .where(
        CreditNote.invoice_id == bindparam("invoice"),
        CreditNote.organization_id == bindparam("org"),
        CreditNote.status == "draft",
    )
    .order_by(CreditNote.sequential_id)
)


def _draft_notes(ctx: Ctx, invoice: Invoice) -> list[CreditNote]:
    return list(ctx.session.scalars(_DRAFT_NOTES, {"invoice": invoice.id, "org": ctx.org_id}))


def _items(ctx: Ctx, note_ids: list[uuid.UUID]) -> list[CreditNoteItem]:
    return list(
        ctx.session.scalars(
            select(CreditNoteItem)
            .where(CreditNoteItem.credit_note_id.in_(note_ids))
            .order_by(CreditNoteItem.created_at, CreditNoteItem.id)
        )
    )


@contextmanager
def follow_refreshed_fees(ctx: Ctx, invoice: Invoice) -> Iterator[None]:
    notes = _draft_notes(ctx, invoice)
    if not notes:
        yield
        return
    items = _items(ctx, [n.id for n in notes])
    fees = {f.id: f for f in invoice_fees(ctx, invoice)}
    moved: list[_Moved] = []
    for item in items:
        fee = fees.get(item.fee_id) if item.fee_id is not None else None
        if fee is not None:
            moved.append(_Moved(item.id, _key(fee), fee.amount_cents))
        item.fee_id = None
    ctx.session.flush()
    yield
    new_fees = {_key(f): f for f in invoice_fees(ctx, invoice)}
    by_id = {m.item_id: m for m in moved}
    for item in _items(ctx, [n.id for n in notes]):
        old = by_id.get(item.id)
        fee = new_fees.get(old.key) if old is not None else None
        if old is None or fee is None or old.old_amount_cents == 0:
            item.precise_amount_cents = Decimal(0)
        else:
            item.fee_id = fee.id
            item.precise_amount_cents = q5(
                item.precise_amount_cents / old.old_amount_cents * fee.amount_cents
            )
        item.amount_cents = round_cents(item.precise_amount_cents)
        item.updated_at = ctx.now()
    ctx.session.flush()
    for note in notes:
        recompute_draft(ctx, invoice, note)


def recompute_draft(ctx: Ctx, invoice: Invoice, note: CreditNote) -> None:
    """A draft note's taxes and amounts from its (moved) items: the new total less the
    refund and offset is credited."""
    rows = [i for i in _items(ctx, [note.id]) if i.fee_id is not None]
    fees = {f.id: f for f in invoice_fees(ctx, invoice)}
    lines = fee_lines(ctx, [fees[i.fee_id] for i in rows if i.fee_id in fees])
    items = [
        MathItem(fee=lines[i.fee_id], precise_amount_cents=i.precise_amount_cents)
        for i in rows
        if i.fee_id in lines
    ]
    total = precise_total_amount_cents(items)
    refund = min(note.refund_amount_cents, total)
    offset = min(note.offset_amount_cents, total - refund)
    amounts = compute_credit_note(
        items,
        credit_amount_cents=total - refund - offset,
        refund_amount_cents=refund,
        offset_amount_cents=offset,
    )
    ctx.session.execute(delete(CreditNoteAppliedTax).where(CreditNoteAppliedTax.credit_note_id == note.id))
    write_applied_taxes(ctx, invoice, note, amounts.applied_taxes)
    note.total_amount_cents = amounts.total_amount_cents
    note.taxes_amount_cents = amounts.taxes_amount_cents
    note.precise_taxes_amount_cents = amounts.precise_taxes_amount_cents
    note.taxes_rate = amounts.taxes_rate
    note.sub_total_excluding_taxes_amount_cents = amounts.sub_total_excluding_taxes_amount_cents
    note.coupons_adjustment_amount_cents = amounts.coupons_adjustment_amount_cents
    note.precise_coupons_adjustment_amount_cents = amounts.precise_coupons_adjustment_amount_cents
    note.credit_amount_cents = amounts.credit_amount_cents
    note.balance_amount_cents = amounts.balance_amount_cents
    note.refund_amount_cents = amounts.refund_amount_cents
    note.offset_amount_cents = amounts.offset_amount_cents
    note.updated_at = ctx.now()
    ctx.session.flush()


def finalize_invoice_credit_notes(ctx: Ctx, invoice: Invoice, was_draft: bool) -> None:
    if not was_draft:  # credit notes are drafts only on a draft invoice (``creation``)
        return
    for note in _draft_notes(ctx, invoice):
        note.status = "finalized"
        note.number = credit_note_number(invoice, note.sequential_id)
        note.updated_at = ctx.now()
        ctx.session.flush()
        issue(ctx, invoice, note)
