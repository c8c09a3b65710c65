"""``standard``: every unit at the same price (§3.3)."""

from __future__ import annotations

from decimal import Decimal

from billow.pricing.charge_models.base import (
    BaseChargeModel,
    ChargeInput,
    ChargeResult,
    build_result,
    decimal_property,
    safe_divide,
)


class StandardModel(BaseChargeModel):
    name = "standard"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        amount = inp.units * decimal_property(inp.properties, "amount")
        return build_result(inp, amount, safe_divide(amount, inp.unit_divisor), {})

    def _projected_amount(self, inp: ChargeInput, units: Decimal, period_ratio: Decimal) -> Decimal:
        return units * decimal_property(inp.properties, "amount")
