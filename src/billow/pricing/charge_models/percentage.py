"""``percentage``: a rate on the units (transaction amounts), with free allowances, a fixed fee
per paying event and optional per-transaction minimum / maximum (§3.3).

Running totals (the cumulative event values that decide the free allowance) are derived here
from ``ChargeInput.event_values``: the first ``free_units_per_events`` values when set, else the
values up to the first total above ``free_units_per_total_aggregation``; count-like metrics use
``[1, 2, .., U]``; none when no free allowance is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billow.core.money import ZERO, decimal_str, floor
from billow.pricing.charge_models.base import (
    COUNT_AGGREGATIONS,
    BaseChargeModel,
    ChargeInput,
    ChargeResult,
    build_result,
    decimal_property,
    safe_divide,
)
from billow.pricing.charge_models.properties import is_json_integer

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class PercentageTerms:
    rate: Decimal
    fixed_amount: Decimal
    free_events: int
    free_total: Decimal
    min_amount: Decimal | None
    max_amount: Decimal | None

    @classmethod
    def from_properties(cls, inp: ChargeInput) -> PercentageTerms:
        props = inp.properties
        free_events = props.get("free_units_per_events")
        return cls(
            rate=decimal_property(props, "rate"),
            fixed_amount=decimal_property(props, "fixed_amount"),
            free_events=free_events if is_json_integer(free_events) else 0,
            free_total=decimal_property(props, "free_units_per_total_aggregation"),
            min_amount=_optional_amount(props, "per_transaction_min_amount"),
            max_amount=_optional_amount(props, "per_transaction_max_amount"),
        )

    @property
    def has_min_max(self) -> bool:
        return self.min_amount is not None or self.max_amount is not None


def _optional_amount(props: Mapping[str, Any], key: str) -> Decimal | None:
    return None if props.get(key) in (None, "") else decimal_property(props, key)


def _cumulative(values: Sequence[Decimal]) -> list[Decimal]:
    totals: list[Decimal] = []
    total = ZERO
    for value in values:
        total += value
        totals.append(total)
    return totals


def running_totals(inp: ChargeInput, terms: PercentageTerms) -> list[Decimal]:
    if terms.free_events <= 0 and terms.free_total <= 0:
        return []
    if inp.aggregation_type in COUNT_AGGREGATIONS:
        return [Decimal(i) for i in range(1, int(floor(inp.units)) + 1)]
    if terms.free_events > 0:
        return _cumulative(inp.event_values[: terms.free_events])
    totals: list[Decimal] = []
    total = ZERO
    for value in inp.event_values:
        if total > terms.free_total:
            break
        total += value
        totals.append(total)
    return totals


def free_units_value(totals: Sequence[Decimal], terms: PercentageTerms) -> Decimal:
    last = totals[-1] if totals else ZERO
    if last.is_zero():
        return ZERO
    if 0 < terms.free_events < len(totals):
        return totals[terms.free_events - 1]
    if terms.free_total.is_zero() or last <= terms.free_total:
        return last
    return terms.free_total


def free_events_count(totals: Sequence[Decimal], terms: PercentageTerms) -> int:
    below_free_total = sum(1 for total in totals if total < terms.free_total)
    candidates = [count for count in (terms.free_events, below_free_total) if count != 0]
    return min(candidates) if candidates else 0


def per_transaction_amount(values: Sequence[Decimal], terms: PercentageTerms) -> Decimal:
    """Price each event on its own (free allowances first), clamped to [min, max], summed."""
    remaining_events = terms.free_events
    remaining_amount = terms.free_total
    total = ZERO
    for event_value in values:
        value = event_value
        if remaining_events > 0 or remaining_amount > 0:
            remaining_events -= 1
            if remaining_amount <= 0:
                continue
            if remaining_amount > value:
                remaining_amount -= value
                continue
            value -= remaining_amount
            remaining_amount = ZERO
            remaining_events = 0
        amount = value * terms.rate / HUNDRED + terms.fixed_amount
        if terms.min_amount is not None and amount < terms.min_amount:
            amount = terms.min_amount
        elif terms.max_amount is not None and amount > terms.max_amount:
            amount = terms.max_amount
        total += amount
    return total


class PercentageModel(BaseChargeModel):
    name = "percentage"

    def _price(self, inp: ChargeInput) -> ChargeResult:
        terms = PercentageTerms.from_properties(inp)
        totals = running_totals(inp, terms)
        free_value = free_units_value(totals, terms)
        free_count = free_events_count(totals, terms)
        units = inp.units
        events = inp.events_count

        percentage_amount = ZERO if free_value > units else (units - free_value) * terms.rate / HUNDRED
        if units.is_zero() or free_count >= events:
            fixed_total = ZERO
        else:
            fixed_total = (events - free_count) * terms.fixed_amount

        amount = percentage_amount + fixed_total
        adjustment = ZERO
        if terms.has_min_max:
            with_min_max = per_transaction_amount(inp.event_values, terms)
            adjustment = with_min_max - percentage_amount - fixed_total
            amount = with_min_max

        free_events = min(free_count, events)
        paid_events = events - free_events
        details = {
            "units": decimal_str(units),
            "free_units": decimal_str(free_value),
            "free_events": free_events,
            "paid_units": decimal_str(max(units - free_value, ZERO)),
            "rate": decimal_str(terms.rate),
            "per_unit_total_amount": decimal_str(percentage_amount),
            "paid_events": paid_events,
            "fixed_fee_unit_amount": decimal_str(terms.fixed_amount if paid_events > 0 else ZERO),
            "fixed_fee_total_amount": decimal_str(fixed_total),
            "min_max_adjustment_total_amount": decimal_str(adjustment),
        }
        return build_result(inp, amount, safe_divide(amount, inp.unit_divisor), details)
