"""Credit-note test helpers: the public API, row counts, and the few invoice facts the API cannot
set yet (partial payments)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text, update

from billow.billing.models import Invoice
from billow.runtime import Runtime
from tests.billing.helpers import at as at  # re-exported: the credit-note tests take it from here
from tests.pricing.helpers import ok

TABLES = ("credit_notes", "credit_note_items", "credit_note_applied_taxes", "credits", "webhooks", "jobs")


def counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {t: int(session.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in TABLES}


def credit_notes(api: Any, **params: Any) -> list[dict[str, Any]]:
    """Every finalized note, oldest first, as ``GET /credit_notes/{id}`` answers."""
    listed = ok(api.get("/credit_notes", per_page=1000, **params))["credit_notes"]
    detailed = [ok(api.get(f"/credit_notes/{n['lago_id']}"))["credit_note"] for n in listed]
    return sorted(detailed, key=lambda n: (n["created_at"], n["number"]))


def create(api: Any, invoice_id: str, items: list[tuple[str, Any]], **fields: Any) -> Any:
    body = {
        "invoice_id": invoice_id,
        "reason": fields.pop("reason", "other"),
        "items": [{"fee_id": fee_id, "amount_cents": amount} for fee_id, amount in items],
        **fields,
    }
    return api.post("/credit_notes", {"credit_note": body})


def estimate(api: Any, invoice_id: str, items: list[tuple[str, Any]]) -> Any:
    body = {"invoice_id": invoice_id, "items": [{"fee_id": f, "amount_cents": a} for f, a in items]}
    return api.post("/credit_notes/estimate", {"credit_note": body})


def pay(runtime: Runtime, invoice_id: str, amount_cents: int, *, succeeded: bool | None = None) -> None:
    """Record a (partial) payment: the manual-payments API does not exist yet."""
    with runtime.db.session() as session:
        invoice = session.get(Invoice, uuid.UUID(invoice_id))
        assert invoice is not None
        paid = amount_cents >= invoice.total_amount_cents if succeeded is None else succeeded
        session.execute(
            update(Invoice)
            .where(Invoice.id == invoice.id)
            .values(total_paid_amount_cents=amount_cents, payment_status="succeeded" if paid else "pending")
        )


def totals(invoice: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        invoice["fees_amount_cents"],
        invoice["taxes_amount_cents"],
        invoice["credit_notes_amount_cents"],
        invoice["total_amount_cents"],
    )


def credited(invoice: dict[str, Any]) -> tuple[int, int, int]:
    """``(fees, credit notes, total)`` of an invoice."""
    return (
        invoice["fees_amount_cents"],
        invoice["credit_notes_amount_cents"],
        invoice["total_amount_cents"],
    )


def amounts(note: dict[str, Any]) -> tuple[int, int, int]:
    """``(sub_total_excluding_taxes, taxes, total)``."""
    return (
        note["sub_total_excluding_taxes_amount_cents"],
        note["taxes_amount_cents"],
        note["total_amount_cents"],
    )


def split(note: dict[str, Any]) -> tuple[int, int, int, int]:
    """``(credit, refund, offset, balance)``."""
    return (
        note["credit_amount_cents"],
        note["refund_amount_cents"],
        note["offset_amount_cents"],
        note["balance_amount_cents"],
    )
