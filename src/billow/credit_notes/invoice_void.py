"""What the credit notes package does when billing voids an invoice (``InvoiceVoidHooks``, wired by
``billow.runtime.build_hooks``; billing.md §4.9, Lago's ``Invoices::VoidService``).

* :func:`holds_credit` — an invoice with a note still holding credit (``credit_status`` set and
  not ``voided``; refund-only notes have none) is not voidable without an explicit intent.
* :func:`recredit_consumed_notes` — the notes the voided invoice consumed get that amount back on
  their balance and are ``available`` again (a voided note stays voided).
* :func:`void_limits` / :func:`issue_void_credit_notes` — ``generate_credit_note``.
"""

from __future__ import annotations

from sqlalchemy import select

from billow.billing.models import Credit, Invoice
from billow.credit_notes.models import CreditNote
from billow.credit_notes.voiding import create_credit_note_for_void, void_limits
from billow.db.context import Ctx

__all__ = ["holds_credit", "issue_void_credit_notes", "recredit_consumed_notes", "void_limits"]


def holds_credit(ctx: Ctx, invoice: Invoice) -> bool:
    found = ctx.session.scalar(
        select(CreditNote.id)
        .where(
            CreditNote.organization_id == ctx.org_id,
            CreditNote.invoice_id == invoice.id,
            CreditNote.credit_status.is_not(None),
            CreditNote.credit_status != "voided",
        )
        .limit(1)
    )
    return found is not None


def recredit_consumed_notes(ctx: Ctx, invoice: Invoice, _generated: bool) -> None:
    rows = ctx.session.execute(
        select(Credit, CreditNote)
        .join(CreditNote, CreditNote.id == Credit.credit_note_id)
        .where(
            Credit.invoice_id == invoice.id,
            Credit.organization_id == ctx.org_id,
            CreditNote.organization_id == ctx.org_id,
        )
        .order_by(Credit.created_at, Credit.id)
    ).all()
    now = ctx.now()
    for credit, note in rows:
        if note.credit_status == "voided":
            continue
        note.balance_amount_cents += credit.amount_cents
        note.credit_status = "available"
        note.updated_at = now
    ctx.session.flush()


def issue_void_credit_notes(
    ctx: Ctx, invoice: Invoice, credit_amount_cents: int, refund_amount_cents: int
) -> None:
    create_credit_note_for_void(ctx, invoice, credit_amount_cents, refund_amount_cents)
