"""Credit note numbers (billing.md §4.7): ``<invoice.number>-CN<seq:03d>``, ``seq`` counting the
invoice's notes. The caller holds the invoice's row lock; the unique index on ``(invoice_id,
sequential_id)`` is the backstop. A draft invoice's note is renumbered when the invoice gets its
final number."""

from __future__ import annotations

from sqlalchemy import func, select

from billow.billing.models import Invoice
from billow.credit_notes.models import CreditNote
from billow.db.context import Ctx


def next_sequential_id(ctx: Ctx, invoice: Invoice) -> int:
    current = ctx.session.scalar(
        select(func.max(CreditNote.sequential_id)).where(CreditNote.invoice_id == invoice.id)
    )
    return int(current or 0) + 1


def credit_note_number(invoice: Invoice, sequential_id: int) -> str:
    return f"{invoice.number}-CN{sequential_id:03d}"
