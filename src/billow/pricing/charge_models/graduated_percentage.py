"""``graduated_percentage``: a rate per tier of units (amounts), plus each tier's flat fee (§3.3).

Unlike ``graduated`` there is no adjacent-range mode: a tier starting above 0 always counts its
first unit (``min(U, to) − from + 1``).
"""

from __future__ import annotations

from decimal import Decimal

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

HUNDRED = Decimal(100)


def percentage_tier_units(tier: PriceRange, units: Decimal) -> Decimal:
    effective = tier.to_value if tier.to_value is not None and units >= tier.to_value else units
    if tier.from_value.is_zero():
        return effective
    return effective - tier.from_value + 1


class GraduatedPercentageModel(BaseChargeModel):
    name = "graduated_percentage"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        ranges = parse_ranges(inp.properties.get("graduated_percentage_ranges"), per_unit_key="rate")
        suppress_flat = inp.units.is_zero() and inp.excluding_event
        details: list[AmountDetails] = []
        amount = ZERO
        for tier in ranges:
            count = percentage_tier_units(tier, inp.units)
            per_unit_total = count * tier.per_unit / HUNDRED
            flat = ZERO if suppress_flat else tier.flat_amount
            total = ZERO if suppress_flat else per_unit_total + flat
            amount += total
            details.append(
                {
                    "from_value": tier.raw_from,
                    "to_value": tier.raw_to,
                    "flat_unit_amount": decimal_str(flat),
                    "rate": decimal_str(tier.per_unit),
                    "units": decimal_str(count),
                    "per_unit_total_amount": decimal_str(per_unit_total),
                    "total_with_flat_amount": decimal_str(total),
                }
            )
            if tier.to_value is None or tier.to_value >= inp.units:
                break
        result_details = {"graduated_percentage_ranges": details}
        return build_result(inp, amount, safe_divide(amount, inp.unit_divisor), result_details)
