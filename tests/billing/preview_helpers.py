"""Invoice previews: the request, a snapshot of every table's row count, and the amounts that
must match the invoice later generated."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from billow.models import metadata
from billow.runtime import Runtime
from tests.pricing.helpers import ok

AMOUNTS = (
    "currency",
    "fees_amount_cents",
    "coupons_amount_cents",
    "progressive_billing_credit_amount_cents",
    "sub_total_excluding_taxes_amount_cents",
    "taxes_amount_cents",
    "sub_total_including_taxes_amount_cents",
    "credit_notes_amount_cents",
    "prepaid_credit_amount_cents",
    "total_amount_cents",
)


def preview(api: Any, **body: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = ok(api.post("/invoices/preview", body))["invoice"]
    return invoice


def row_counts(runtime: Runtime) -> dict[str, int]:
    """Rows in every table (jobs and webhooks included)."""
    with runtime.db.session() as session:
        return {
            t.name: int(session.scalar(select(func.count()).select_from(t)) or 0)
            for t in metadata.sorted_tables
            if t.name != "alembic_version"
        }


def amounts(invoice: dict[str, Any]) -> dict[str, Any]:
    """The invoice's amounts and each fee's (sorted by item), as a preview must match them."""
    fees = sorted(
        (
            f["item"]["type"],
            f["item"]["code"],
            f["amount_cents"],
            f["precise_amount"],
            f["precise_coupons_amount_cents"],
            f["taxes_amount_cents"],
            f["units"],
        )
        for f in invoice["fees"]
    )
    return {**{k: invoice[k] for k in AMOUNTS}, "fees": fees}
