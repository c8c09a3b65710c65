"""Pricing units in API shape."""

from __future__ import annotations

from typing import Any

from billow.core.timefmt import iso_z
from billow.pricing.pricing_units.models import PricingUnit


def pricing_unit_payload(unit: PricingUnit) -> dict[str, Any]:
    return {
        "lago_id": str(unit.id),
        "name": unit.name,
        "code": unit.code,
        "short_name": unit.short_name,
        "description": unit.description,
        "created_at": iso_z(unit.created_at),
    }
