"""Entries from raw aggregates: units, events_count and totals per type (§2.3, §2.5, §3.6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billow.core.money import ZERO
from billow.metering.aggregation.buckets import Bucket
from billow.metering.aggregation.types import AggregationEntry, AggregationRequest, GroupKey, ProratedPair
from billow.metering.aggregation.units import (
    apply_rounding,
    ceil_to_second,
    epoch_micros,
    floor_to_millisecond,
    prorated_ratio,
    prorated_total,
    weighted_units,
)
from billow.metering.store.aggregate_main import Partial, PartialKey
from billow.subscriptions.periods import day_count


def groups_of(
    request: AggregationRequest, bucket: Bucket, partials: dict[PartialKey, Partial]
) -> list[GroupKey]:
    """The bucket's groups: those seen, plus those with a supplied weighted-sum level; an
    all-``None`` group when there is none (a grouped bucket without usage, as Lago)."""
    found = [gk for (position, gk) in partials if position == bucket.position]
    weighted = request.options.weighted
    if weighted is not None and weighted.initial_levels and request.metric.recurring:
        for filter_id, gk in weighted.initial_levels:
            if (
                filter_id == bucket.filter_id
                and gk not in found
                and [k for k, _ in gk] == list(bucket.group_keys)
            ):
                found.append(gk)
    if not found:
        found.append(tuple((key, None) for key in bucket.group_keys))
    return found


def finish(
    request: AggregationRequest, bucket: Bucket, gk: GroupKey, part: Partial, *, rounding: bool
) -> AggregationEntry:
    """Units, events_count and totals of one bucket/group from its raw aggregates (§2.3, §2.5)."""
    metric = request.metric
    kind = metric.aggregation_type
    options = request.options
    full: Decimal | None = None
    variation = ZERO
    total: Decimal | None = None
    events_count = part.count
    if kind == "count_agg":
        units = Decimal(part.count)
    elif kind == "sum_agg":
        units = part.value if part.value is not None else ZERO
        if options.proration is not None:
            full = units
            units = prorated_total(
                part.day_weighted, part.carried, persisted_days(request), _duration(request)
            )
    elif kind == "max_agg":
        units = part.value if part.value is not None else ZERO
    elif kind == "latest_agg":
        units = max(part.latest, ZERO) if part.latest is not None else ZERO
    elif kind == "unique_count_agg":
        units = Decimal(part.unique)
        events_count = part.unique
    else:  # weighted_sum_agg
        units, variation, total = _weighted(request, bucket, gk, part)
    if rounding:
        units = apply_rounding(metric, units)
        full = apply_rounding(metric, full) if full is not None else None
    return AggregationEntry(
        filter_id=bucket.filter_id,
        group=dict(gk),
        units=units,
        events_count=events_count,
        total_aggregated_units=total if total is not None else units,
        precise_total_amount_cents=part.precise,
        full_units_number=full,
        variation=variation,
    )


def _weighted(
    request: AggregationRequest, bucket: Bucket, gk: GroupKey, part: Partial
) -> tuple[Decimal, Decimal, Decimal]:
    options = request.options.weighted
    assert options is not None
    start = floor_to_millisecond(request.from_datetime)
    end = ceil_to_second(request.to_datetime)
    span = epoch_micros(end) - epoch_micros(start)
    supplied = ZERO
    initial = ZERO
    if request.metric.recurring:
        if options.initial_levels is not None:
            supplied = options.initial_levels.get((bucket.filter_id, gk), ZERO)
            initial = supplied
        elif options.initial_from_events:
            initial = part.initial  # already weighted inside part.weighted (events held at F)
    units = weighted_units(part.weighted, supplied, span, options.period_duration_days)
    total = initial + part.variation if request.metric.recurring else part.variation
    return units, part.variation, total


def _duration(request: AggregationRequest) -> int:
    assert request.options.proration is not None
    return request.options.proration.period_duration_days


def persisted_days(request: AggregationRequest) -> int:
    proration = request.options.proration
    assert proration is not None
    if proration.persisted_days is not None:
        return proration.persisted_days
    return day_count(request.from_datetime, request.to_datetime, proration.timezone)


def sum_pairs(
    request: AggregationRequest, part: Partial, pairs: list[ProratedPair]
) -> tuple[ProratedPair, ...]:
    """Carried-over units first (prorated at days(F, T)/P), then the period's events."""
    leading: list[ProratedPair] = []
    if part.carried:
        ratio = prorated_ratio(persisted_days(request), _duration(request))
        leading.append(ProratedPair(part.carried, part.carried * ratio))
    return (*leading, *pairs)


def unique_prorated(
    request: AggregationRequest, entry: AggregationEntry, data: Any, *, rounding: bool
) -> dict[str, Any]:
    """The prorated fields of a unique count (the non-prorated units become ``full_units_number``)."""
    prorated = data.units if data is not None else ZERO
    units = apply_rounding(request.metric, prorated) if rounding else prorated
    return {
        "units": units,
        "full_units_number": entry.units,
        "events_count": int(prorated),  # Lago stores the prorated units in an integer column
        "total_aggregated_units": units,
        "prorated_events": data.pairs if data is not None else (),
    }
