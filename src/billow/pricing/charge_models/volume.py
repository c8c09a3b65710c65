"""``volume``: all units at the price of the tier the total falls in (§3.3)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from billow.core.money import ZERO, ceil, decimal_str
from billow.pricing.charge_models.base import (
    BaseChargeModel,
    ChargeInput,
    ChargeResult,
    PriceRange,
    build_result,
    parse_ranges,
    safe_divide,
)
from billow.pricing.charge_models.proration import volume_tier_units


def sorted_volume_ranges(inp: ChargeInput) -> list[PriceRange]:
    return sorted(parse_ranges(inp.properties.get("volume_ranges")), key=lambda tier: tier.from_value)


def find_volume_tier(ranges: Sequence[PriceRange], units: Decimal) -> PriceRange | None:
    """The tier with ``from ≤ ceil(units)`` and ``units ≤ to`` (open last tier), if any."""
    rounded_up = ceil(units)
    for tier in ranges:
        if tier.from_value <= rounded_up and (tier.to_value is None or units <= tier.to_value):
            return tier
    return None


def select_volume_tier(ranges: Sequence[PriceRange], units: Decimal) -> PriceRange | None:
    """:func:`find_volume_tier`, falling back to the lowest tier whose upper bound covers
    ``units`` (units below the first tier or inside a gap between tiers), else the last tier."""
    tier = find_volume_tier(ranges, units)
    if tier is not None or not ranges:
        return tier
    for candidate in ranges:
        if candidate.to_value is None or units <= candidate.to_value:
            return candidate
    return ranges[-1]


class VolumeModel(BaseChargeModel):
    name = "volume"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        tier_units = volume_tier_units(inp)
        tier = select_volume_tier(sorted_volume_ranges(inp), tier_units)
        per_unit = tier.per_unit if tier is not None else ZERO
        flat = tier.flat_amount if tier is not None else ZERO
        per_unit_total = inp.units * per_unit
        amount = per_unit_total + flat
        details = {
            "flat_unit_amount": decimal_str(flat),
            "per_unit_amount": decimal_str(safe_divide(per_unit_total, tier_units)),
            "per_unit_total_amount": decimal_str(per_unit_total),
        }
        return build_result(inp, amount, safe_divide(amount, tier_units), details)

    def _projected_amount(self, inp: ChargeInput, units: Decimal, period_ratio: Decimal) -> Decimal:
        if units.is_zero():
            return ZERO
        tier = find_volume_tier(sorted_volume_ranges(inp), units)
        if tier is None:
            return ZERO
        return units * tier.per_unit + tier.flat_amount
