"""Shared types of the pure charge models: inputs, results, the Protocol and range parsing.

Everything here is plain data: no database, no web code, ``Decimal`` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from typing import Any, Protocol

from billow.core.money import DECIMAL_CONTEXT, ZERO, round_half_up, to_decimal

COUNT_AGGREGATIONS: frozenset[str] = frozenset({"count_agg", "unique_count_agg"})

AmountDetails = dict[str, Any]
RangeBound = int | Decimal


@dataclass(frozen=True, slots=True)
class ProratedEventValue:
    """One event of a prorated charge: its full value and its prorated value.

    A carried-over total (recurring metrics) enters as a leading item whose ``prorated`` value
    is the total prorated at ``days(F, T) / P``.
    """

    full: Decimal
    prorated: Decimal


@dataclass(frozen=True, slots=True)
class ChargeInput:
    """What the metering engine hands a charge model for one bucket (filter / group).

    * ``units``: aggregated units after the metric's rounding (prorated units for prorated
      charges).
    * ``events_count``: the aggregation's event count (§2.3).
    * ``properties``: the normalized charge (or filter) properties.
    * ``aggregation_type``: the metric's ``*_agg`` type.
    * ``event_values``: per-event values in timestamp order, needed by ``percentage`` (free
      units, per-transaction min/max). Count-like metrics pass ``1`` per event; their running
      totals are ``[1, 2, .., U]`` and are derived from ``units``.
    * ``precise_total_amount_cents``: sum of the events' ``precise_total_amount_cents``
      (``dynamic``).
    * ``currency_exponent``: minor-unit exponent of the charge's currency (``dynamic`` and the
      pay-in-advance unit amount).
    * ``full_units_number``: non-prorated units of a prorated charge (tier choice of prorated
      volume; divisor of unit amounts when present).
    * ``prorated`` / ``prorated_events``: the charge is prorated; graduated then walks the
      ``(full, prorated)`` event pairs.
    * ``custom_amount``: amount returned by the custom aggregation (plugin hook).
    * ``excluding_event``: this is the pay-in-advance "without this event" computation; the
      graduated models then charge no first-range flat fee at zero units.
    """

    units: Decimal
    properties: Mapping[str, Any]
    events_count: int = 0
    aggregation_type: str = "sum_agg"
    event_values: tuple[Decimal, ...] = ()
    precise_total_amount_cents: Decimal = ZERO
    currency_exponent: int = 2
    full_units_number: Decimal | None = None
    prorated: bool = False
    prorated_events: tuple[ProratedEventValue, ...] = ()
    custom_amount: Decimal | None = None
    excluding_event: bool = False

    def with_changes(self, **changes: Any) -> ChargeInput:
        return replace(self, **changes)

    @property
    def unit_divisor(self) -> Decimal:
        """Units a unit amount is computed over: the full units when known, else ``units``."""
        return self.full_units_number if self.full_units_number is not None else self.units


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """A charge model's price for one bucket, in currency (major) units, unrounded.

    ``amount_details`` has Lago's per-model shape with decimals rendered as Lago's JSON
    strings. ``units`` / ``full_units_number`` / ``events_count`` echo the input so that the
    fee builder has everything in one place.
    """

    units: Decimal
    amount: Decimal
    unit_amount: Decimal
    amount_details: AmountDetails = field(default_factory=dict)
    full_units_number: Decimal | None = None
    events_count: int = 0

    def zero_if_negative(self) -> ChargeResult:
        """§3.7: negative units or amount price as nothing."""
        if self.units < 0 or self.amount < 0:
            full = None if self.full_units_number is None else ZERO
            return replace(self, units=ZERO, amount=ZERO, unit_amount=ZERO, full_units_number=full)
        return self


@dataclass(frozen=True, slots=True)
class Projection:
    """Projected usage to the end of the period (§4.2); negatives are zero."""

    units: Decimal
    amount: Decimal


class ChargeModel(Protocol):
    """A pricing rule turning aggregated usage into an amount."""

    @property
    def name(self) -> str: ...

    def compute(self, inp: ChargeInput) -> ChargeResult:
        """The bucket's price as a fee takes it (negatives zeroed, §3.7)."""
        ...

    def compute_raw(self, inp: ChargeInput) -> ChargeResult:
        """The model's price before the negative rule (used by the pay-in-advance delta)."""
        ...

    def project(self, inp: ChargeInput, period_ratio: Decimal) -> Projection:
        """Projected units and amount at the end of the period (§4.2)."""
        ...


class BaseChargeModel:
    """Template for the concrete models: exact context, negative rule, projection."""

    name: str = ""

    def compute(self, inp: ChargeInput) -> ChargeResult:
        return self.compute_raw(inp).zero_if_negative()

    def compute_raw(self, inp: ChargeInput) -> ChargeResult:
        with localcontext(DECIMAL_CONTEXT):
            return self._price(inp)

    def project(self, inp: ChargeInput, period_ratio: Decimal) -> Projection:
        with localcontext(DECIMAL_CONTEXT):
            units = projected_units(inp.units, period_ratio)
            amount = self._projected_amount(inp, units, period_ratio)
        return Projection(units=max(units, ZERO), amount=max(amount, ZERO))

    def _price(self, inp: ChargeInput) -> ChargeResult:
        raise NotImplementedError

    def _projected_amount(self, inp: ChargeInput, units: Decimal, period_ratio: Decimal) -> Decimal:
        """Default projection: the current amount scaled by the period ratio."""
        return scale_by_ratio(self._price(inp).amount, period_ratio)


def projected_units(units: Decimal, period_ratio: Decimal) -> Decimal:
    if units.is_zero() or period_ratio <= 0:
        return ZERO
    with localcontext(DECIMAL_CONTEXT):
        return round_half_up(units / period_ratio, 2)


def scale_by_ratio(amount: Decimal, period_ratio: Decimal) -> Decimal:
    if amount.is_zero() or period_ratio <= 0:
        return ZERO
    with localcontext(DECIMAL_CONTEXT):
        return amount / period_ratio


def safe_divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator``, 0 when the denominator is 0 (Lago's unit amounts)."""
    if denominator.is_zero():
        return ZERO
    with localcontext(DECIMAL_CONTEXT):
        return numerator / denominator


def build_result(
    inp: ChargeInput, amount: Decimal, unit_amount: Decimal, details: AmountDetails
) -> ChargeResult:
    return ChargeResult(
        units=inp.units,
        amount=amount,
        unit_amount=unit_amount,
        amount_details=details,
        full_units_number=inp.full_units_number,
        events_count=inp.events_count,
    )


def decimal_property(properties: Mapping[str, Any], key: str, default: Decimal = ZERO) -> Decimal:
    """A money/rate property (a decimal string once validated); absent or blank → ``default``."""
    value = properties.get(key)
    if value is None or value == "":
        return default
    return to_decimal(value)


def bound_value(raw: object) -> RangeBound:
    """A range bound as stored: integral values stay ``int``, others become ``Decimal``."""
    value = to_decimal(raw)
    if value == value.to_integral_value():
        return int(value)
    return value


@dataclass(frozen=True, slots=True)
class PriceRange:
    """One tier of graduated / volume / graduated_percentage properties.

    ``raw_from`` / ``raw_to`` keep the stored bound (echoed in amount details);
    ``per_unit`` is the per-unit amount, or the rate for graduated_percentage.
    """

    from_value: Decimal
    to_value: Decimal | None
    per_unit: Decimal
    flat_amount: Decimal
    raw_from: RangeBound
    raw_to: RangeBound | None


def parse_ranges(raw_ranges: object, per_unit_key: str = "per_unit_amount") -> list[PriceRange]:
    """Parse validated range properties into :class:`PriceRange` items, in given order."""
    if not isinstance(raw_ranges, Sequence) or isinstance(raw_ranges, str | bytes):
        return []
    ranges: list[PriceRange] = []
    for raw in raw_ranges:
        if not isinstance(raw, Mapping):
            continue
        raw_from = bound_value(raw.get("from_value") or 0)
        raw_to_obj = raw.get("to_value")
        raw_to = None if raw_to_obj is None else bound_value(raw_to_obj)
        ranges.append(
            PriceRange(
                from_value=Decimal(raw_from),
                to_value=None if raw_to is None else Decimal(raw_to),
                per_unit=decimal_property(raw, per_unit_key),
                flat_amount=decimal_property(raw, "flat_amount"),
                raw_from=raw_from,
                raw_to=raw_to,
            )
        )
    return ranges
