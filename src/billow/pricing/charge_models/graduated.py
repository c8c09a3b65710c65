"""``graduated``: each tier prices the units that fall in it, plus its flat fee (§3.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from billow.core.money import ZERO, decimal_str
from billow.pricing.charge_models.base import (
    AmountDetails,
    BaseChargeModel,
    ChargeInput,
    ChargeResult,
    PriceRange,
    build_result,
    parse_ranges,
    safe_divide,
)
from billow.pricing.charge_models.proration import prorated_graduated_amount


@dataclass(frozen=True, slots=True)
class TierUsage:
    """How many units one tier prices and what it costs."""

    tier: PriceRange
    units: Decimal
    per_unit_amount: Decimal
    per_unit_total_amount: Decimal
    total_with_flat_amount: Decimal


def is_adjacent(ranges: Sequence[PriceRange]) -> bool:
    """Adjacent mode: ≥ 2 ranges and every range starts where the previous one ends."""
    if len(ranges) < 2:
        return False
    return all(cur.from_value == (prev.to_value or ZERO) for prev, cur in pairwise(ranges))


def tier_units(tier: PriceRange, units: Decimal, *, adjacent: bool) -> Decimal:
    """Units of ``units`` that fall in ``tier`` (inclusive ranges count their first unit)."""
    effective = tier.to_value if tier.to_value is not None and units >= tier.to_value else units
    if tier.from_value.is_zero():
        return effective
    diff = effective - tier.from_value
    return diff if adjacent else diff + 1


def graduated_tiers(ranges: Sequence[PriceRange], units: Decimal) -> list[TierUsage]:
    """Tiers walked for ``units``, stopping after the first that holds the last unit."""
    adjacent = is_adjacent(ranges)
    usages: list[TierUsage] = []
    for tier in ranges:
        count = tier_units(tier, units, adjacent=adjacent)
        per_unit = ZERO if count.is_zero() else tier.per_unit
        per_unit_total = count * per_unit
        usages.append(TierUsage(tier, count, per_unit, per_unit_total, per_unit_total + tier.flat_amount))
        if tier.to_value is None or tier.to_value >= units:
            break
    return usages


def graduated_details(usages: Sequence[TierUsage]) -> AmountDetails:
    return {
        "graduated_ranges": [
            {
                "from_value": usage.tier.raw_from,
                "to_value": usage.tier.raw_to,
                "flat_unit_amount": decimal_str(usage.tier.flat_amount),
                "per_unit_amount": decimal_str(usage.per_unit_amount),
                "units": decimal_str(usage.units),
                "per_unit_total_amount": decimal_str(usage.per_unit_total_amount),
                "total_with_flat_amount": decimal_str(usage.total_with_flat_amount),
            }
            for usage in usages
        ]
    }


def capacity_walk_amount(ranges: Sequence[PriceRange], units: Decimal) -> Decimal:
    """Projection pricing (§4.2): fill each tier's capacity in turn, flat fee when used."""
    if units.is_zero():
        return ZERO
    remaining = units
    priced = ZERO
    total = ZERO
    for tier in ranges:
        in_tier = remaining if tier.to_value is None else min(remaining, tier.to_value - priced)
        if in_tier > 0:
            total += in_tier * tier.per_unit + tier.flat_amount
            remaining -= in_tier
            priced += in_tier
        if remaining <= 0:
            break
    return total


class GraduatedModel(BaseChargeModel):
    """Graduated tiers; a prorated charge walks its events instead (``proration``)."""

    name = "graduated"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        ranges = parse_ranges(inp.properties.get("graduated_ranges"))
        if inp.prorated:
            amount = prorated_graduated_amount(ranges, inp.prorated_events, inp.units)
            full_units = sum((event.full for event in inp.prorated_events), ZERO)
            return build_result(inp, amount, safe_divide(amount, full_units), {})
        usages = graduated_tiers(ranges, inp.units)
        if inp.units.is_zero() and inp.excluding_event:
            amount = ZERO
        else:
            amount = sum((usage.total_with_flat_amount for usage in usages), ZERO)
        return build_result(inp, amount, safe_divide(amount, inp.unit_divisor), graduated_details(usages))

    def _projected_amount(self, inp: ChargeInput, units: Decimal, period_ratio: Decimal) -> Decimal:
        if inp.prorated:
            return super()._projected_amount(inp, units, period_ratio)
        return capacity_walk_amount(parse_ranges(inp.properties.get("graduated_ranges")), units)
