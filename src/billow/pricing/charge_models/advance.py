"""Pay-in-advance pricing (§3.8): an event's fee is the price with it minus the price without it.

``amount = model(A) − model(A − a)`` where ``A`` is the period's aggregation including the event
and ``a`` the units the event adds (the metering engine decides ``a``: 1 for count, the
high-water-mark increase for sum, …). In the "without" computation the graduated models charge
no first-range flat fee at zero units, so the first paying event carries that flat fee.

For the fee estimate of an event that is not stored (``/events/estimate_fees``), Lago computes
the "without" side as the plain aggregation, flat fee included: pass
``suppress_first_flat_fee=False`` to reproduce it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from billow.core.money import DECIMAL_CONTEXT, ZERO, decimal_str, round_half_up, to_decimal
from billow.pricing.charge_models.base import AmountDetails, ChargeInput, ChargeModel, ChargeResult

PERCENTAGE_DELTA_KEYS = (
    "units",
    "free_units",
    "paid_units",
    "free_events",
    "paid_events",
    "fixed_fee_total_amount",
    "min_max_adjustment_total_amount",
    "per_unit_total_amount",
)


@dataclass(frozen=True, slots=True)
class AdvanceEvent:
    """The event a pay-in-advance fee is computed for.

    ``units``: units it adds to the aggregation (``a``). ``precise_total_amount_cents``: its
    own dynamic price. ``value_index``: its position in ``ChargeInput.event_values`` (last by
    default, the window ending at the event); ``None`` when the values do not include it.
    """

    units: Decimal
    precise_total_amount_cents: Decimal = ZERO
    value_index: int | None = -1


@dataclass(frozen=True, slots=True)
class AdvanceResult:
    """The event's fee in currency units (unrounded delta) and how it was obtained."""

    amount: Decimal
    units: Decimal
    unit_amount: Decimal
    amount_details: AmountDetails
    with_event: ChargeResult
    without_event: ChargeResult


def input_without_event(
    with_event: ChargeInput, event: AdvanceEvent, *, suppress_first_flat_fee: bool = True
) -> ChargeInput:
    """The period's input as it was before the event."""
    values = list(with_event.event_values)
    if event.value_index is not None and values:
        del values[event.value_index]
    with localcontext(DECIMAL_CONTEXT):
        units = with_event.units - event.units
        precise = with_event.precise_total_amount_cents - event.precise_total_amount_cents
    return with_event.with_changes(
        units=units,
        events_count=max(with_event.events_count - 1, 0),
        event_values=tuple(values),
        precise_total_amount_cents=precise,
        full_units_number=None,
        custom_amount=None,
        excluding_event=suppress_first_flat_fee,
    )


def pay_in_advance_delta(
    model: ChargeModel, with_event: ChargeInput, event: AdvanceEvent, *, suppress_first_flat_fee: bool = True
) -> AdvanceResult:
    """Price one pay-in-advance event with ``model`` (§3.8)."""
    with_result = model.compute_raw(with_event)
    without_input = input_without_event(with_event, event, suppress_first_flat_fee=suppress_first_flat_fee)
    without_result = model.compute_raw(without_input)
    with localcontext(DECIMAL_CONTEXT):
        amount = with_result.amount - without_result.amount
        rounded = round_half_up(amount, with_event.currency_exponent)
        unit_amount = ZERO if rounded.is_zero() or event.units.is_zero() else rounded / event.units
    details = advance_amount_details(model.name, with_result.amount_details, without_result.amount_details)
    return AdvanceResult(
        amount=amount,
        units=event.units,
        unit_amount=unit_amount,
        amount_details=details,
        with_event=with_result,
        without_event=without_result,
    )


def _number(details: Mapping[str, Any], key: str) -> Decimal:
    value = details.get(key)
    return ZERO if value is None else to_decimal(value)


def advance_amount_details(
    model_name: str, with_details: AmountDetails, without_details: AmountDetails
) -> AmountDetails:
    """Amount details of a single event's fee: only percentage and graduated_percentage have them."""
    if not with_details or not without_details:
        return {}
    with localcontext(DECIMAL_CONTEXT):
        if model_name == "percentage":
            return _percentage_delta(with_details, without_details)
        if model_name == "graduated_percentage":
            return _graduated_percentage_delta(with_details, without_details)
    return {}


def _percentage_delta(with_details: AmountDetails, without_details: AmountDetails) -> AmountDetails:
    details: AmountDetails = {
        "rate": with_details.get("rate"),
        "fixed_fee_unit_amount": with_details.get("fixed_fee_unit_amount"),
    }
    for key in PERCENTAGE_DELTA_KEYS:
        details[key] = decimal_str(_number(with_details, key) - _number(without_details, key))
    details["free_units"] = decimal_str(to_decimal(details["units"]) - to_decimal(details["paid_units"]))
    return details


def _graduated_percentage_delta(with_details: AmountDetails, without_details: AmountDetails) -> AmountDetails:
    before_ranges: list[Mapping[str, Any]] = list(without_details.get("graduated_percentage_ranges", []))
    ranges: list[AmountDetails] = []
    for tier in with_details.get("graduated_percentage_ranges", []):
        before: Mapping[str, Any] = next(
            (
                item
                for item in before_ranges
                if item.get("from_value") == tier.get("from_value")
                and item.get("to_value") == tier.get("to_value")
            ),
            {},
        )
        total = _number(tier, "total_with_flat_amount") - _number(before, "total_with_flat_amount")
        units = _number(tier, "units") - _number(before, "units")
        ranges.append(
            {
                "from_value": tier.get("from_value"),
                "to_value": tier.get("to_value"),
                "flat_unit_amount": decimal_str(
                    _number(tier, "flat_unit_amount") - _number(before, "flat_unit_amount")
                ),
                "rate": tier.get("rate"),
                "units": decimal_str(units),
                "per_unit_total_amount": decimal_str(round_half_up(total / units, 2)) if units > 0 else "0.0",
                "total_with_flat_amount": decimal_str(total),
            }
        )
    return {"graduated_percentage_ranges": ranges}
