"""``package``: units are sold in packages of ``package_size`` after ``free_units`` (§3.3)."""

from __future__ import annotations

from decimal import Decimal

from billow.core.money import ZERO, ceil, decimal_str
from billow.pricing.charge_models.base import (
    AmountDetails,
    BaseChargeModel,
    ChargeInput,
    ChargeResult,
    build_result,
    decimal_property,
)
from billow.pricing.charge_models.properties import is_json_integer


def _package_size(inp: ChargeInput) -> int:
    size = inp.properties.get("package_size")
    return size if is_json_integer(size) and size > 0 else 1


def _free_units(inp: ChargeInput) -> Decimal:
    return decimal_property(inp.properties, "free_units")


def package_amount(paid_units: Decimal, package_size: int, package_amount: Decimal) -> Decimal:
    """``ceil(paid / size) × amount``: a started package is a whole package; none when paid < 0."""
    if paid_units < 0:
        return ZERO
    return ceil(paid_units / package_size) * package_amount


class PackageModel(BaseChargeModel):
    name = "package"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        size = _package_size(inp)
        free = _free_units(inp)
        price = decimal_property(inp.properties, "amount")
        paid = inp.units - free
        amount = package_amount(paid, size, price)
        unit_amount = amount / paid if paid > 0 else ZERO
        details: AmountDetails
        if inp.units.is_zero():
            details = {
                "free_units": "0.0",
                "paid_units": "0.0",
                "per_package_size": 0,
                "per_package_unit_amount": "0.0",
            }
        else:
            details = {
                "free_units": decimal_str(free),
                "paid_units": decimal_str(max(paid, ZERO)),
                "per_package_size": size,
                "per_package_unit_amount": decimal_str(price),
            }
        return build_result(inp, amount, unit_amount, details)

    def _projected_amount(self, inp: ChargeInput, units: Decimal, period_ratio: Decimal) -> Decimal:
        if units.is_zero():
            return ZERO
        paid = units - _free_units(inp)
        if paid <= 0:
            return ZERO
        return package_amount(paid, _package_size(inp), decimal_property(inp.properties, "amount"))
