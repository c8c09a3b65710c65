"""Credits in Lago's shape (``CreditObject``): what an invoice took off its amount, by coupon
(``item.type = "coupon"``), progressive-billing invoice (``"invoice"``) or credit note
(``"credit_note"``).

* Invoices list their credits (``credits[]``, oldest first).
* Applied coupons list theirs (``GET /applied_coupons``), and their ``amount_cents_remaining``
  counts the credits on invoices that still count — not voided, closed or deleted (Lago's
  ``Credit.active``): :func:`applied_coupon_usage` answers ``AppliedCouponHooks``.

The item of a credit-note credit is named by the credit notes package: billing does not read
its tables, so ``credit_note_items`` maps a credit note id to ``(number, invoice number,
description)``; without it the item shows the credit note id.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billow.billing.models import Credit, Invoice
from billow.db.context import Ctx
from billow.pricing.coupons.hooks import CouponUsage
from billow.pricing.coupons.models import AppliedCoupon, Coupon

INACTIVE_INVOICE_STATUSES = ("voided", "closed", "deleted")

CreditNoteItem = tuple[str, str, str | None]
"""``(credit note number, its invoice's number, description)``."""


def _item(
    credit: Credit,
    coupons: Mapping[uuid.UUID, Coupon],
    invoices: Mapping[uuid.UUID, Invoice],
    notes: Mapping[uuid.UUID, CreditNoteItem],
) -> dict[str, Any]:
    if credit.applied_coupon_id is not None:
        coupon = coupons.get(credit.applied_coupon_id)
        return {
            "lago_item_id": str(coupon.id) if coupon else None,
            "type": "coupon",
            "code": coupon.code if coupon else None,
            "name": coupon.name if coupon else None,
            "description": coupon.description if coupon else None,
        }
    if credit.progressive_billing_invoice_id is not None:
        source = invoices.get(credit.progressive_billing_invoice_id)
        number = source.number if source else None
        return {
            "lago_item_id": str(credit.progressive_billing_invoice_id),
            "type": "invoice",
            "code": number,
            "name": number,
            "description": None,
        }
    note_id = credit.credit_note_id
    number, invoice_number, description = (
        notes.get(note_id, (str(note_id), str(note_id), None)) if note_id else ("", "", None)
    )
    return {
        "lago_item_id": str(note_id) if note_id else None,
        "type": "credit_note",
        "code": number,
        "name": invoice_number,
        "description": description,
    }


def credit_payloads(
    session: Session,
    credits: Sequence[Credit],
    *,
    credit_note_items: Mapping[uuid.UUID, CreditNoteItem] | None = None,
) -> list[dict[str, Any]]:
    """Many credits with their coupons and invoices loaded together."""
    if not credits:
        return []
    applied_ids = {c.applied_coupon_id for c in credits if c.applied_coupon_id is not None}
    coupons: dict[uuid.UUID, Coupon] = {}
    if applied_ids:
        rows = session.execute(
            select(AppliedCoupon.id, Coupon)
            .join(Coupon, Coupon.id == AppliedCoupon.coupon_id)
            .where(AppliedCoupon.id.in_(applied_ids))
        )
        coupons = {applied_id: found for applied_id, found in rows}
    invoice_ids = {c.invoice_id for c in credits} | {
        c.progressive_billing_invoice_id for c in credits if c.progressive_billing_invoice_id is not None
    }
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)))}
    notes = credit_note_items or {}
    return [
        {
            "lago_id": str(credit.id),
            "amount_cents": credit.amount_cents,
            "amount_currency": credit.amount_currency,
            "before_taxes": credit.before_taxes,
            "item": _item(credit, coupons, invoices, notes),
            "invoice": {
                "lago_id": str(credit.invoice_id),
                "payment_status": invoices[credit.invoice_id].payment_status,
            },
        }
        for credit in credits
    ]


def invoice_credits(session: Session, invoice_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[Credit]]:
    """The credits of each invoice, oldest first."""
    found: dict[uuid.UUID, list[Credit]] = {i: [] for i in invoice_ids}
    if not found:
        return found
    rows = session.scalars(
        select(Credit).where(Credit.invoice_id.in_(list(found))).order_by(Credit.created_at, Credit.id)
    )
    for credit in rows:
        found[credit.invoice_id].append(credit)
    return found


def consumed_coupon_amounts(ctx: Ctx, applied_coupon_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Σ of each applied coupon's credits on invoices that still count."""
    if not applied_coupon_ids:
        return {}
    rows = ctx.session.execute(
        select(Credit.applied_coupon_id, func.coalesce(func.sum(Credit.amount_cents), 0))
        .join(Invoice, Invoice.id == Credit.invoice_id)
        .where(
            Credit.organization_id == ctx.org_id,
            Credit.applied_coupon_id.in_(list(applied_coupon_ids)),
            Invoice.status.not_in(INACTIVE_INVOICE_STATUSES),
        )
        .group_by(Credit.applied_coupon_id)
    ).all()
    return {applied_id: int(total) for applied_id, total in rows if applied_id is not None}


def applied_coupon_usage(ctx: Ctx, applied_coupon_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CouponUsage]:
    """For ``AppliedCouponHooks.usage``: consumed amount and credits of each applied coupon."""
    ids = list(applied_coupon_ids)
    if not ids:
        return {}
    consumed = consumed_coupon_amounts(ctx, ids)
    credits = list(
        ctx.session.scalars(
            select(Credit)
            .where(Credit.organization_id == ctx.org_id, Credit.applied_coupon_id.in_(ids))
            .order_by(Credit.created_at, Credit.id)
        )
    )
    payloads = credit_payloads(ctx.session, credits)
    by_coupon: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    for credit, payload in zip(credits, payloads, strict=True):
        assert credit.applied_coupon_id is not None
        by_coupon[credit.applied_coupon_id].append(payload)
    return {
        i: CouponUsage(consumed_amount_cents=consumed.get(i, 0), credits=tuple(by_coupon[i])) for i in ids
    }
