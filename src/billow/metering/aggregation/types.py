"""The aggregation engine's request and result types (plain data, ``Decimal`` only).

One request aggregates one charge of one subscription over one window: the metric's events of
``external_subscription_id`` with ``from_datetime ≤ timestamp ≤ to_datetime`` (both inclusive,
``from`` floored to the millisecond as Lago does), split into buckets (each charge filter, plus
the default bucket ``None``) and, inside each bucket, into groups (the bucket's pricing group
keys). See ``README.md`` of this package for the semantics of every type.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from billow.core.money import ZERO

AggregationType = Literal[
    "count_agg",
    "sum_agg",
    "max_agg",
    "unique_count_agg",
    "weighted_sum_agg",
    "latest_agg",
    "custom_agg",
]
VALUE_TYPES: frozenset[str] = frozenset({"sum_agg", "max_agg", "latest_agg", "weighted_sum_agg"})
"""Types that read ``properties[field_name]`` as a number (§2.2: non-numeric events are ignored)."""

ALL_FILTER_VALUES = "__ALL_FILTER_VALUES__"

GroupValues = Mapping[str, str | None]
GroupKey = tuple[tuple[str, str | None], ...]
"""A group as a hashable key: ``((key, value), ...)`` in the bucket's group-key order."""

FilterId = Hashable
BucketKey = tuple[FilterId | None, GroupKey]


def group_key(keys: Sequence[str], values: GroupValues) -> GroupKey:
    """The hashable key of a group (missing keys are ``None``)."""
    return tuple((k, values.get(k)) for k in keys)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What the engine needs of a billable metric.

    ``filters``: the metric's declared filters ``key → values`` (charge filter values must be
    among them; ``__ALL_FILTER_VALUES__`` expands to them; only these keys count).
    """

    code: str
    aggregation_type: str
    field_name: str | None = None
    recurring: bool = False
    rounding_function: str | None = None
    rounding_precision: int | None = None
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """One charge filter. Filters are given oldest first (``created_at``, then ``id``): among
    identical filters the older one keeps the events.

    ``values``: ``{key: [values]}`` as stored (``["__ALL_FILTER_VALUES__"]`` allowed).
    ``group_keys``: the filter's own ``pricing_group_keys`` — Lago does not inherit the
    charge's keys in a filter bucket.
    """

    id: FilterId
    values: Mapping[str, Sequence[str]]
    group_keys: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ProrationOptions:
    """Prorated charges (recurring ``sum_agg`` / ``unique_count_agg``, §3.6).

    ``period_duration_days``: P, days of the whole period. ``timezone``: the customer's (day
    counts are local calendar days). ``persisted_days``: days(F, T) applied to the units carried
    over from before F; ``None`` → :func:`~billow.subscriptions.periods.day_count` (pass one day
    less for a terminated-and-upgraded subscription).
    """

    period_duration_days: int
    timezone: str = "UTC"
    persisted_days: int | None = None


@dataclass(frozen=True, slots=True)
class WeightedSumOptions:
    """``weighted_sum_agg`` (§2.3, §2.4).

    ``period_duration_days``: D, days of the whole period (also when the window starts mid-period).
    Initial level I (recurring metrics only; non-recurring metrics always start at 0):
    ``initial_levels`` — the persisted end-of-period levels keyed by ``(filter_id, group_key)``
    (Lago's latest cached aggregation before F) — else, when ``initial_from_events`` (the
    subscription has a previous subscription), the sum of the numeric events up to F − 1 s, per
    bucket and group; else 0.
    """

    period_duration_days: int
    initial_levels: Mapping[BucketKey, Decimal] | None = None
    initial_from_events: bool = False


@dataclass(frozen=True, slots=True)
class EventCursor:
    """A position in the event order ``(timestamp, created_at, id)``: the upper bound of a
    pay-in-advance window (the event itself and everything before it; ties at the same timestamp
    are broken by ingestion order as Lago does)."""

    timestamp: datetime
    created_at: datetime
    event_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class AggregationOptions:
    """Optional outputs and window changes.

    * ``event_values``: per-event values in event order (``percentage``, per-transaction
      min/max) — the period's own events (Lago's ``force_from``).
    * ``precise_total_amount``: Σ ``precise_total_amount_cents`` (``dynamic``).
    * ``proration``: prorated units, ``full_units_number`` and ``(full, prorated)`` pairs.
    * ``weighted``: required for ``weighted_sum_agg``.
    * ``high_water``: the period's pay-in-advance running total and high-water mark per entry.
    * ``upto``: pay-in-advance upper bound (``min(to_datetime, event)``, ties by ingestion order).
    """

    event_values: bool = False
    precise_total_amount: bool = False
    proration: ProrationOptions | None = None
    weighted: WeightedSumOptions | None = None
    high_water: bool = False
    upto: EventCursor | None = None


@dataclass(frozen=True, slots=True)
class AggregationRequest:
    """One charge of one subscription over ``[from_datetime, to_datetime]`` (both inclusive).

    ``group_keys``: the charge's ``pricing_group_keys`` (the default bucket's grouping).
    """

    organization_id: uuid.UUID
    external_subscription_id: str
    metric: MetricSpec
    from_datetime: datetime
    to_datetime: datetime
    filters: Sequence[FilterSpec] = ()
    group_keys: Sequence[str] = ()
    options: AggregationOptions = AggregationOptions()


@dataclass(frozen=True, slots=True)
class ProratedPair:
    """One event of a prorated charge: its full value and its prorated value (§3.6)."""

    full: Decimal
    prorated: Decimal


@dataclass(frozen=True, slots=True)
class HighWater:
    """Pay-in-advance state of a bucket/group over the period: ``current`` = Σ of what the
    period's events added (relative to the period start), ``max`` = the highest ``current``
    reached (the high-water mark; ``current`` of the first event when all are negative)."""

    current: Decimal
    max: Decimal


@dataclass(frozen=True, slots=True)
class AggregationEntry:
    """The aggregation of one bucket (``filter_id``; ``None`` = default) and one group.

    * ``units``: after the metric's rounding (§2.5); the prorated units when prorated.
    * ``events_count``: §2.3 per type (numeric events; unique_count: the unit count).
    * ``total_aggregated_units``: weighted sum → the level at the end of the period (I +
      variation for recurring metrics, the variation otherwise); other types → ``units``.
    * ``full_units_number``: prorated charges: the non-prorated units (rounded).
    * ``variation``: weighted sum → Σ of the period's event values.
    """

    filter_id: FilterId | None
    group: GroupValues
    units: Decimal
    events_count: int
    total_aggregated_units: Decimal
    precise_total_amount_cents: Decimal = ZERO
    full_units_number: Decimal | None = None
    variation: Decimal = ZERO
    event_values: tuple[Decimal, ...] = ()
    prorated_events: tuple[ProratedPair, ...] = ()
    high_water: HighWater | None = None

    @property
    def key(self) -> BucketKey:
        return (self.filter_id, tuple(self.group.items()))


@dataclass(frozen=True, slots=True)
class AggregationResult:
    """Every bucket (each filter id in request order, then the default bucket ``None``) with its
    groups. An ungrouped bucket has exactly one entry (zeros when no event matched); a grouped
    bucket has one entry per group seen, or one all-``None`` group of zeros when it saw none."""

    entries: tuple[AggregationEntry, ...]

    def bucket(self, filter_id: FilterId | None) -> list[AggregationEntry]:
        return [e for e in self.entries if e.filter_id == filter_id]

    def entry(self, filter_id: FilterId | None = None, group: GroupValues | None = None) -> AggregationEntry:
        """The entry of a bucket and group (``group`` may be omitted for an ungrouped bucket)."""
        wanted = dict(group or {})
        for e in self.entries:
            if e.filter_id == filter_id and (group is None or dict(e.group) == wanted):
                return e
        raise KeyError((filter_id, wanted))


@dataclass(frozen=True, slots=True)
class EventUnits:
    """Pay-in-advance aggregation of one stored event (§3.8).

    ``filter_id``/``group``: the bucket the event is billed in (the matching filter with the
    most keys, the oldest on a tie; else the default bucket) and its group values.
    ``entry``: that bucket/group aggregated up to and including the event (no rounding, as Lago).
    ``units``: what the event adds (``a``): count 1; sum and unique_count the rise of the
    period's high-water mark. ``prorated_units``: ``a × days(event, T) / P`` (``ceil(·, 5)``)
    when prorated. ``high_water``: the state after the event.
    """

    filter_id: FilterId | None
    group: GroupValues
    entry: AggregationEntry
    units: Decimal
    prorated_units: Decimal | None
    high_water: HighWater
