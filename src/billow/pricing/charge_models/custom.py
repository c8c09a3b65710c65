"""``custom``: a plugin hook.

Lago's ``custom_agg`` runs a user-supplied script that returns ``{total_units, amount}``; Billow
cannot run that code. The ``custom`` model therefore prices nothing itself: it returns the
``amount`` that the custom aggregation (a plugin registered with the metering engine) put in
``ChargeInput.custom_amount``, or 0 when there is none.
"""

from __future__ import annotations

from billow.core.money import ZERO
from billow.pricing.charge_models.base import (
    BaseChargeModel,
    ChargeInput,
    ChargeResult,
    build_result,
    safe_divide,
)


class CustomModel(BaseChargeModel):
    name = "custom"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        amount = inp.custom_amount if inp.custom_amount is not None else ZERO
        return build_result(inp, amount, safe_divide(amount, inp.unit_divisor), {})
