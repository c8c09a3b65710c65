"""Prorated pricing (§3.6) and the prorated minimum spend (§3.9).

The metering engine computes prorated units and the ``(full, prorated)`` value of each event;
this module only prices them.

Prorated graduated: the running total of *full* units decides the tier; each event's prorated
value is spread over the tiers its full units cross, in proportion (coefficient
``prorated / full``); removals come off the top tier downwards. Tier ``i`` holds the levels
``(to[i-1], to[i]]``, which matches Lago's walk for inclusive integer ranges (``0–5, 6–15``);
for adjacent ranges (``0–5, 5–15``) the same boundaries are used. Flat fees of every tier up to
the one holding the highest level reached are added. A negative variable part counts as 0; a
negative final level prices 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext

from billow.core.money import DECIMAL_CONTEXT, ZERO, round_half_up
from billow.pricing.charge_models.base import ChargeInput, PriceRange, ProratedEventValue


def flat_fees_up_to(ranges: Sequence[PriceRange], level: Decimal) -> Decimal:
    """Flat fees of the tiers up to (and including) the one holding ``level``."""
    total = ZERO
    for tier in ranges:
        total += tier.flat_amount
        if tier.to_value is None or level <= tier.to_value:
            break
    return total


def _tier_bounds(ranges: Sequence[PriceRange]) -> list[tuple[Decimal | None, Decimal | None]]:
    """``(lower, upper)`` level bounds per tier; ``None`` is unbounded."""
    bounds: list[tuple[Decimal | None, Decimal | None]] = []
    lower: Decimal | None = None
    for tier in ranges:
        bounds.append((lower, tier.to_value))
        if tier.to_value is not None:
            lower = tier.to_value
    return bounds


def _overlap(lo: Decimal, hi: Decimal, lower: Decimal | None, upper: Decimal | None) -> Decimal:
    start = lo if lower is None else max(lo, lower)
    end = hi if upper is None else min(hi, upper)
    return max(end - start, ZERO)


def _skipped(event: ProratedEventValue, level: Decimal) -> bool:
    """Events Lago leaves out of the walk.

    An addition with no prorated value (e.g. a value removed before the period) does not move
    the level; neither does a removal with no prorated value that would take the level below
    zero (its addition was skipped).
    """
    if event.full.is_zero():
        return True
    if not event.prorated.is_zero():
        return False
    return event.full > 0 or level + event.full < 0


def prorated_graduated_amount(
    ranges: Sequence[PriceRange], events: Sequence[ProratedEventValue], units: Decimal
) -> Decimal:
    """Amount of a prorated graduated charge; ``units`` are the prorated aggregated units."""
    if not ranges:
        return ZERO
    with localcontext(DECIMAL_CONTEXT):
        if units.is_zero():
            return flat_fees_up_to(ranges, ZERO)
        bounds = _tier_bounds(ranges)
        level = ZERO
        peak = ZERO
        variable = ZERO
        for event in events:
            if _skipped(event, level):
                continue
            coefficient = event.prorated / event.full
            new_level = level + event.full
            lo, hi = min(level, new_level), max(level, new_level)
            sign = 1 if event.full > 0 else -1
            for tier, (lower, upper) in zip(ranges, bounds, strict=True):
                moved = _overlap(lo, hi, lower, upper)
                if moved:
                    variable += sign * moved * coefficient * tier.per_unit
            level = new_level
            peak = max(peak, level)
        if level < 0:
            return ZERO
        return max(variable, ZERO) + flat_fees_up_to(ranges, peak)


def volume_tier_units(inp: ChargeInput) -> Decimal:
    """Units that choose the volume tier: the full (non-prorated) units of a prorated charge."""
    if inp.prorated and inp.full_units_number is not None:
        return inp.full_units_number
    return inp.units


def prorated_min_amount_cents(
    min_amount_cents: int | Decimal, period_days: int, covered_days: int
) -> Decimal:
    """``min_amount_cents / P × days(F, T)`` (unrounded)."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(min_amount_cents) / period_days * covered_days


def true_up_amount(
    min_amount_cents: int | Decimal, used_cents: int | Decimal, period_days: int, covered_days: int
) -> int:
    """Cents of the minimum-spend true-up fee (§3.9); 0 when the charge used enough."""
    prorated = prorated_min_amount_cents(min_amount_cents, period_days, covered_days)
    if Decimal(used_cents) >= prorated:
        return 0
    with localcontext(DECIMAL_CONTEXT):
        return int(round_half_up(prorated - Decimal(used_cents)))
