"""``dynamic``: the events carry their own price (``precise_total_amount_cents``, §3.3)."""

from __future__ import annotations

from billow.core.money import ZERO
from billow.pricing.charge_models.base import (
    BaseChargeModel,
    ChargeInput,
    ChargeResult,
    build_result,
    safe_divide,
)


class DynamicModel(BaseChargeModel):
    """Amount = Σ events' ``precise_total_amount_cents`` in currency units; 0 without units."""

    name = "dynamic"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        divisor = inp.unit_divisor
        amount = ZERO if divisor.is_zero() else inp.precise_total_amount_cents.scaleb(-inp.currency_exponent)
        return build_result(inp, amount, safe_divide(amount, divisor), {})
