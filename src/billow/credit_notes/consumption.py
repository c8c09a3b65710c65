"""Available credit notes paying a finalizing invoice (billing.md §4.3 step 7, Lago's
``Credits::CreditNoteService``).

``CreditNotesSource`` is billing's ``AdjustmentSource`` for credit notes (wired through
``InvoiceAdjustmentHooks`` by the runtime). ``collect`` gives ``compute_invoice`` the customer's
finalized notes with an available balance, in the invoice's currency, not issued on this
invoice, oldest first — their rows locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serializes writers) and re-read, so that two invoices finalized at once never consume more than
a balance. ``persist`` records what the invoice took: one ``credits`` row per note (after taxes)
and the note's new balance (``consumed`` at 0). Drafts take nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select

from billow.billing.adjustments import AdjustmentRequest
from billow.billing.math import AvailableCreditNote, InvoiceTotals
from billow.billing.models import Credit
from billow.core.ids import new_id
from billow.credit_notes.models import CreditNote
from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.db.prefetch import flush, known_absent, prefetch_flags

# Invoice kinds whose totals take credit notes (billing.md §4.3).
_KINDS = ("subscription", "in_advance_charge", "progressive_billing")


# Built once (asked for every invoice; building a statement costs more than running it): the
# values are bound.
# A credit note with credit left to give, whatever its customer or currency.
_WITH_CREDIT = (
    CreditNote.status == "finalized",
    CreditNote.credit_status == "available",
    CreditNote.balance_amount_cents > 0,
)


def _available_where(org: Any, customer: Any, currency: Any) -> tuple[ColumnElement[bool], ...]:
    return (
        CreditNote.organization_id == org,
        CreditNote.customer_id == customer,
        CreditNote.currency == currency,
        *_WITH_CREDIT,
    )


CREDIT_NOTES_FLAG = "credit_notes.available"


def prefetch_credit_note_flags(ctx: Ctx, customer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """``BillingPrefetchHooks``: which customers have an available credit note (any currency)."""
    having = select(CreditNote.customer_id).where(
        CreditNote.organization_id == ctx.org_id,
        one_of(CreditNote.customer_id, customer_ids),
        *_WITH_CREDIT,
    )
    return prefetch_flags(ctx, (CREDIT_NOTES_FLAG,), customer_ids, having)


_AVAILABLE = (
    select(CreditNote)
    .where(*_available_where(bindparam("org"), bindparam("customer"), bindparam("currency")))
    .order_by(CreditNote.created_at, CreditNote.id)
    .execution_options(populate_existing=True)
)
_AVAILABLE_LOCKED = _AVAILABLE.with_for_update()


def available_credit_notes(
    ctx: Ctx, customer_id: uuid.UUID, currency: str, *, lock: bool
) -> list[CreditNote]:
    stmt = _AVAILABLE_LOCKED if lock and ctx.dialect == "postgresql" else _AVAILABLE
    return list(ctx.session.scalars(stmt, {"org": ctx.org_id, "customer": customer_id, "currency": currency}))


class CreditNotesSource:
    name = "credit_notes"

    def presence(self, ctx: Ctx, request: AdjustmentRequest) -> ColumnElement[bool] | bool:
        if not request.finalizing or request.kind not in _KINDS:
            return False
        invoice = request.invoice
        if known_absent(ctx, CREDIT_NOTES_FLAG, invoice.customer_id):
            return False
        available = _available_where(ctx.org_id, invoice.customer_id, invoice.currency)
        return select(CreditNote.id).where(*available).exists()

    def collect(self, ctx: Ctx, request: AdjustmentRequest) -> Mapping[str, Any]:
        invoice = request.invoice
        if not request.finalizing or request.kind not in _KINDS:
            return {}
        notes = available_credit_notes(ctx, invoice.customer_id, invoice.currency, lock=True)
        return {
            "credit_notes": tuple(
                AvailableCreditNote(
                    id=str(note.id),
                    balance_amount_cents=note.balance_amount_cents,
                    created_at=note.created_at,
                    currency=note.currency,
                    invoice_id=str(note.invoice_id),
                )
                for note in notes
            )
        }

    def persist(self, ctx: Ctx, request: AdjustmentRequest, totals: InvoiceTotals) -> None:
        invoice = request.invoice
        now = ctx.now()
        for consumption in totals.credit_note_consumptions:
            note = ctx.session.get(CreditNote, uuid.UUID(consumption.credit_note_id))
            assert note is not None and note.organization_id == ctx.org_id
            ctx.session.add(
                Credit(
                    id=new_id(),
                    organization_id=ctx.org_id,
                    invoice_id=invoice.id,
                    credit_note_id=note.id,
                    amount_cents=consumption.amount_cents,
                    amount_currency=invoice.currency,
                    before_taxes=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            note.balance_amount_cents = consumption.balance_amount_cents
            if consumption.consumed:
                note.credit_status = "consumed"
            note.updated_at = now
        flush(ctx)
