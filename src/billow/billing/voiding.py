"""Voiding an invoice: ``POST /invoices/{id}/void`` (billing.md §4.9, Lago's ``Invoices::VoidService``).

* Without ``generate_credit_note`` in the body, only a *voidable* invoice: ``finalized``, payment
  ``pending`` or ``failed``, no lost dispute, and no credit note still holding credit (a package
  built on billing answers that through :class:`InvoiceVoidHooks`). Otherwise 405
  ``not_voidable``. With the key present (even ``false``) the check is bypassed (Lago's
  ``force_void``), but the invoice must still be ``finalized``; a voided one is 405
  ``not_voidable`` either way.
* ``generate_credit_note: true``: ``credit_amount`` and ``refund_amount`` must each, and together,
  stay within what the invoice can still credit (refund within what it can refund), else 422
  ``credit_refund_amount: total_amount_exceeds_invoice_amount``. The credit notes package
  issues the requested note and voids the remainder (``InvoiceVoidHooks.issue_credit_notes``);
  without that package wired, the option answers 405 ``feature_unavailable``.
* The invoice becomes ``voided`` (``voided_at``, ``payment_overdue`` false; it keeps its number),
  the applied coupons it used get their use back, the credit notes it consumed get their credit
  back and, unless credit notes are generated, the prepaid credits it consumed are granted back
  (``InvoiceVoidHooks.on_voided``), then ``invoice.voided`` — all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from billow.billing.events import InvoiceEvent
from billow.billing.models import Credit, Invoice
from billow.core.errors import MethodNotAllowed, ValidationFailed
from billow.db.context import Ctx
from billow.pricing.coupons.invoicing import restore_coupon_use
from billow.webhooks.emitter import emit

VOIDABLE_PAYMENT_STATUSES = ("pending", "failed")


class InvoiceVoidInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    generate_credit_note: Any = None
    refund_amount: Any = None
    credit_amount: Any = None


VoidedCallback = Callable[[Ctx, Invoice, bool], None]
"""``(ctx, invoice, credit notes generated)``: runs once the invoice is ``voided``."""


@dataclass(frozen=True)
class InvoiceVoidHooks:
    """What the packages built on billing do when an invoice is voided (wired by
    ``billow.runtime.build_hooks``).

    * ``blocks_void(ctx, invoice)``: true when the package holds something that makes the
      invoice not voidable without an explicit intent (credit notes with credit).
    * ``on_voided``: give back what the invoice consumed (credit notes, prepaid credits).
    * ``credit_note_limits(ctx, invoice)``: ``(creditable, refundable)`` cents, and
      ``issue_credit_notes(ctx, invoice, credit, refund)``: the notes of ``generate_credit_note``.
    """

    blocks_void: tuple[Callable[[Ctx, Invoice], bool], ...] = ()
    on_voided: tuple[VoidedCallback, ...] = ()
    credit_note_limits: Callable[[Ctx, Invoice], tuple[int, int]] | None = None
    issue_credit_notes: Callable[[Ctx, Invoice, int, int], None] | None = None


def _flag(value: Any) -> bool:
    """Rails' boolean cast: ``true``, ``"true"``, ``"1"``, ``1``… are true."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "t", "yes", "y", "on")
    return bool(value) if isinstance(value, bool | int) else False


def _cents(name: str, value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationFailed.field(name, "value_is_invalid")
    try:
        cents = int(value)
    except ValueError:
        raise ValidationFailed.field(name, "value_is_invalid") from None
    if cents < 0:
        raise ValidationFailed.field(name, "value_is_invalid")
    return cents


def voidable(ctx: Ctx, invoice: Invoice) -> bool:
    """Lago's ``Invoice#voidable?``."""
    if invoice.status != "finalized" or invoice.payment_dispute_lost_at is not None:
        return False
    if invoice.payment_status not in VOIDABLE_PAYMENT_STATUSES:
        return False
    return not any(blocks(ctx, invoice) for blocks in ctx.hooks.get(InvoiceVoidHooks).blocks_void)


def _restore_coupons(ctx: Ctx, invoice: Invoice) -> None:
    applied_ids = ctx.session.scalars(
        select(Credit.applied_coupon_id)
        .where(
            Credit.invoice_id == invoice.id,
            Credit.organization_id == ctx.org_id,
            Credit.applied_coupon_id.is_not(None),
        )
        .order_by(Credit.created_at, Credit.id)
    )
    restore_coupon_use(ctx, [i for i in applied_ids if i is not None])


def _lock(ctx: Ctx, invoice: Invoice) -> None:
    """Re-read the invoice under its row lock (``FOR NO KEY UPDATE`` on PostgreSQL; SQLite
    serializes writers): a payment or a credit note racing the void sees it, or is seen."""
    if ctx.dialect == "postgresql":
        ctx.session.execute(
            select(Invoice.id)
            .where(Invoice.id == invoice.id, Invoice.organization_id == ctx.org_id)
            .with_for_update(key_share=True)
        )
        ctx.session.refresh(invoice)


def void_invoice(ctx: Ctx, invoice: Invoice, data: InvoiceVoidInput, fields: set[str]) -> Invoice:
    hooks = ctx.hooks.get(InvoiceVoidHooks)
    _lock(ctx, invoice)
    explicit = "generate_credit_note" in fields
    generate = _flag(data.generate_credit_note)
    credit = _cents("credit_amount", data.credit_amount)
    refund = _cents("refund_amount", data.refund_amount)
    if invoice.status != "finalized" or not (explicit or voidable(ctx, invoice)):
        raise MethodNotAllowed("not_voidable")
    if generate:
        if hooks.credit_note_limits is None or hooks.issue_credit_notes is None:
            raise MethodNotAllowed("feature_unavailable")
        creditable, refundable = hooks.credit_note_limits(ctx, invoice)
        if credit > creditable or refund > refundable or credit + refund > creditable:
            raise ValidationFailed.field("credit_refund_amount", "total_amount_exceeds_invoice_amount")
    now = ctx.now()
    invoice.status = "voided"
    invoice.voided_at = now
    invoice.payment_overdue = False
    invoice.updated_at = now
    ctx.session.flush()
    _restore_coupons(ctx, invoice)
    for callback in hooks.on_voided:
        callback(ctx, invoice, generate)
    if generate and hooks.issue_credit_notes is not None:
        hooks.issue_credit_notes(ctx, invoice, credit, refund)
    ctx.session.flush()
    emit(ctx, "invoice.voided", InvoiceEvent(invoice, now))
    return invoice
