"""Pure arithmetic on aggregated numbers: rounding (§2.5), weighted sum (§2.3), proration (§3.6),
and the pay-in-advance high-water rule (§3.8). Exact ``Decimal`` throughout."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from billow.core.money import DECIMAL_CONTEXT, ZERO, ceil, floor, round_half_up
from billow.metering.aggregation.types import HighWater, MetricSpec

SECONDS_PER_DAY = 86_400
MICROS_PER_SECOND = 1_000_000
WEIGHTED_SUM_PLACES = 20
PRORATED_PLACES = 5


def apply_rounding(metric: MetricSpec, units: Decimal) -> Decimal:
    """The metric's ``round``/``ceil``/``floor`` at ``rounding_precision`` (default 0); none → as is."""
    places = metric.rounding_precision or 0
    if metric.rounding_function == "round":
        return round_half_up(units, places)
    if metric.rounding_function == "ceil":
        return ceil(units, places)
    if metric.rounding_function == "floor":
        return floor(units, places)
    return units


def floor_to_millisecond(moment: datetime) -> datetime:
    """Lago floors ``from_datetime`` to the millisecond before comparing timestamps."""
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def ceil_to_second(moment: datetime) -> datetime:
    """T' of the weighted sum: ``to_datetime`` rounded up to the whole second."""
    if moment.microsecond == 0:
        return moment
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def epoch_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch (aware datetimes)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * SECONDS_PER_DAY + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def weighted_units(
    weighted_micros: Decimal, initial: Decimal, span_micros: int, duration_days: int
) -> Decimal:
    """``ceil(Σ L_k × Δ_k / D, 20)`` from Σ v_i × (T' − t_i) (µs, events clamped to F) and I.

    The running level L changes at each event by its value, so Σ_k L_k × Δ_k = I × (T' − F) +
    Σ_i v_i × (T' − t_i): every event weighs its value by the time left until T'. Segments of
    zero length weigh nothing, as in Lago.
    """
    if duration_days <= 0:
        return ZERO
    with localcontext(DECIMAL_CONTEXT):
        total = weighted_micros + initial * span_micros
        units = total / (Decimal(duration_days * SECONDS_PER_DAY) * MICROS_PER_SECOND)
    return ceil(units, WEIGHTED_SUM_PLACES)


def prorated_ratio(days: int, duration_days: int) -> Decimal:
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(days) / Decimal(duration_days)


def prorated_total(
    day_weighted: Decimal, carried: Decimal, persisted_days: int, duration_days: int
) -> Decimal:
    """``ceil(S_prev × days(F,T)/P + Σ v × days_i / P, 5)`` from Σ v × days_i and S_prev."""
    with localcontext(DECIMAL_CONTEXT):
        total = (day_weighted + carried * persisted_days) / Decimal(duration_days)
    return ceil(total, PRORATED_PLACES)


def high_water_step(state: HighWater | None, contribution: Decimal) -> tuple[Decimal, HighWater]:
    """One pay-in-advance event (§3.8): ``(units added, new state)``.

    The first event of the period adds ``max(v, 0)`` and sets ``current = max = v``; later ones
    add ``current + v − max`` when that exceeds the mark (which moves up), else nothing. Unique
    counts use ``v`` = +1 (newly active value) / −1 (active value removed) / 0. This is the
    reference of the set-based SQL (running sum and running max over the period's events).
    """
    with localcontext(DECIMAL_CONTEXT):
        if state is None:
            return max(contribution, ZERO), HighWater(contribution, contribution)
        current = state.current + contribution
        if current > state.max:
            return current - state.max, HighWater(current, current)
        return ZERO, HighWater(current, state.max)


def high_water_replay(contributions: Iterable[Decimal]) -> tuple[list[Decimal], HighWater | None]:
    """:func:`high_water_step` over a whole sequence (tests and documentation)."""
    state: HighWater | None = None
    added: list[Decimal] = []
    for value in contributions:
        units, state = high_water_step(state, value)
        added.append(units)
    return added, state


def high_water_units(running: Decimal, previous_max: Decimal | None) -> Decimal:
    """Units an event adds from the running total through it and the mark before it."""
    with localcontext(DECIMAL_CONTEXT):
        if previous_max is None:
            return max(running, ZERO)
        return max(running - previous_max, ZERO)
