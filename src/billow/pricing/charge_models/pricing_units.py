"""Charges priced in a custom pricing unit (§3.10): conversion to the plan's currency.

The charge model prices in the pricing unit (exponent fixed at 2). The fee keeps the pricing
unit amount rounded to its cents, then converts those *rounded* cents with the conversion
rate and rounds again at the currency's exponent (double rounding, as Lago does).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from billow.core.money import DECIMAL_CONTEXT, round_half_up

PRICING_UNIT_EXPONENT = 2


@dataclass(frozen=True, slots=True)
class PricingUnitConversion:
    """Both sides of a pricing-unit fee.

    ``pricing_unit_*`` are in pricing-unit cents (``pricing_unit_details.amount_cents`` of the
    usage APIs); the others are in the currency's minor units, ``precise_unit_amount`` in
    currency units.
    """

    conversion_rate: Decimal
    pricing_unit_amount_cents: int
    pricing_unit_precise_amount_cents: Decimal
    pricing_unit_unit_amount_cents: int
    pricing_unit_precise_unit_amount: Decimal
    amount_cents: int
    precise_amount_cents: Decimal
    unit_amount_cents: Decimal
    precise_unit_amount: Decimal


def convert_pricing_unit_amount(
    amount: Decimal, unit_amount: Decimal, conversion_rate: Decimal, currency_exponent: int
) -> PricingUnitConversion:
    """Convert a charge model's amount (in pricing units) to the currency.

    ``pu_cents = round(amount, 2) × 100``;
    ``amount_cents = round(pu_cents × rate / 100, exponent) × 10^exponent``.
    The pricing-unit unit amount is kept in whole cents (truncated, as an integer column).
    """
    if conversion_rate <= 0:
        raise ValueError("conversion_rate must be positive")
    with localcontext(DECIMAL_CONTEXT):
        scale = Decimal(10) ** PRICING_UNIT_EXPONENT
        pu_amount_cents = round_half_up(amount, PRICING_UNIT_EXPONENT) * scale
        pu_unit_amount_cents = (unit_amount * scale).to_integral_value(rounding=ROUND_DOWN)
        converted = pu_amount_cents * conversion_rate / scale
        converted_unit = pu_unit_amount_cents * conversion_rate / scale
        return PricingUnitConversion(
            conversion_rate=conversion_rate,
            pricing_unit_amount_cents=int(pu_amount_cents),
            pricing_unit_precise_amount_cents=amount * scale,
            pricing_unit_unit_amount_cents=int(pu_unit_amount_cents),
            pricing_unit_precise_unit_amount=unit_amount,
            amount_cents=int(round_half_up(converted, currency_exponent).scaleb(currency_exponent)),
            precise_amount_cents=converted.scaleb(currency_exponent),
            unit_amount_cents=converted_unit.scaleb(currency_exponent),
            precise_unit_amount=converted_unit,
        )
