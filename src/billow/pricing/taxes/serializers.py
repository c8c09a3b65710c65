"""Taxes in Lago's API shape.

``rate`` is a JSON number, as Lago (which keeps it in a double) renders it: the exact decimal
stored here is converted for JSON only, never used as a float in any computation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.core.timefmt import iso_z
from billow.organizations.models import BillingEntity
from billow.pricing.taxes.models import BillingEntityTax, Tax

# Deprecated counters Lago still sends as zeros.
ZERO_COUNTERS = {
    "add_ons_count": 0,
    "customers_count": 0,
    "plans_count": 0,
    "charges_count": 0,
    "commitments_count": 0,
}


@dataclass(frozen=True)
class AppliedEntity:
    code: str
    is_default: bool


def rate_number(rate: Decimal) -> float:
    """The JSON number Lago sends for a rate (its column is a double precision)."""
    return float(rate)


def entities_by_tax(session: Session, tax_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[AppliedEntity]]:
    """The billing entities each tax is applied to, in one query."""
    ids = list(tax_ids)
    grouped: dict[uuid.UUID, list[AppliedEntity]] = {i: [] for i in ids}
    if not ids:
        return grouped
    rows = session.execute(
        select(BillingEntityTax.tax_id, BillingEntity.code, BillingEntity.is_default)
        .join(BillingEntity, BillingEntity.id == BillingEntityTax.billing_entity_id)
        .where(BillingEntityTax.tax_id.in_(ids))
    ).all()
    for tax_id, code, is_default in rows:
        grouped[tax_id].append(AppliedEntity(code, bool(is_default)))
    return grouped


def tax_payload(tax: Tax, entities: Sequence[AppliedEntity]) -> dict[str, Any]:
    """``TaxObject`` as embedded in other objects (add-ons, customers, plans, organization)."""
    return {
        "lago_id": str(tax.id),
        "name": tax.name,
        "code": tax.code,
        "rate": rate_number(tax.rate),
        "description": tax.description,
        "applied_to_organization": any(e.is_default for e in entities),
        **ZERO_COUNTERS,
        "created_at": iso_z(tax.created_at),
    }


def tax_api_payload(tax: Tax, entities: Sequence[AppliedEntity]) -> dict[str, Any]:
    """``/taxes`` answers: the embedded shape plus ``applied_to_billing_entities_codes``."""
    payload = tax_payload(tax, entities)
    payload["applied_to_billing_entities_codes"] = sorted(e.code for e in entities)
    return payload


def taxes_payload(session: Session, taxes: Sequence[Tax]) -> list[dict[str, Any]]:
    """Embedded taxes of another object, in the given order (one query for all)."""
    entities = entities_by_tax(session, [t.id for t in taxes])
    return [tax_payload(t, entities[t.id]) for t in taxes]


def taxes_api_payload(session: Session, taxes: Sequence[Tax]) -> list[dict[str, Any]]:
    entities = entities_by_tax(session, [t.id for t in taxes])
    return [tax_api_payload(t, entities[t.id]) for t in taxes]
