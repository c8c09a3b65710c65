"""Add-ons in Lago's API shape (``AddOnObject`` with its ``taxes``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from billow.core.timefmt import iso_z
from billow.pricing.add_ons.models import AddOn
from billow.pricing.add_ons.service import taxes_by_add_on
from billow.pricing.taxes.serializers import taxes_payload


def add_on_payload(add_on: AddOn, taxes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "lago_id": str(add_on.id),
        "name": add_on.name,
        "invoice_display_name": add_on.invoice_display_name,
        "code": add_on.code,
        "amount_cents": add_on.amount_cents,
        "amount_currency": add_on.amount_currency,
        "created_at": iso_z(add_on.created_at),
        "description": add_on.description,
        "taxes": list(taxes),
    }


def add_ons_payload(session: Session, add_ons: Sequence[AddOn]) -> list[dict[str, Any]]:
    taxes = taxes_by_add_on(session, [a.id for a in add_ons])
    return [add_on_payload(a, taxes_payload(session, taxes[a.id])) for a in add_ons]


def one_add_on_payload(session: Session, add_on: AddOn) -> dict[str, Any]:
    return add_ons_payload(session, [add_on])[0]
