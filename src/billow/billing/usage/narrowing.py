"""What a current-usage query narrows to (Lago's ``UsageFilters``), and the usage source that
applies it to the aggregation.

Query parameters: ``charge_id`` | ``charge_code`` | ``billable_metric_code`` (deprecated
``filter_by_charge_id`` / ``filter_by_charge_code`` / ``filter_by_metric_code``) select charges;
``group[key]=value`` (deprecated ``filter_by_group``, also a JSON object) keeps only the events
whose ``properties[key]`` is that value, and the key stops grouping; ``skip_grouping`` drops the
pricing group keys; ``full_usage`` measures since the subscription started.

The aggregation engine has no event predicate besides charge filters, so a group restriction is
applied by grouping every bucket by the restricted keys too and keeping the groups holding the
wanted values (the keys are then removed from the group): the same events, priced the same way.
A key given several values prices each value as its own group (Lago merges them into one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from billow.billing.fees.metered import Aggregator, bucket_usages, request_for
from billow.billing.fees.usage import BucketUsage, UsageWindow
from billow.db.context import Ctx
from billow.metering.aggregation import AggregationEntry, AggregationRequest
from billow.metering.store.aggregate_sql import SqlAggregation
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.models import Subscription

_FALSE = frozenset({"false", "0", "f", "off", "no", "n"})


def cast_bool(raw: str | None, default: bool) -> bool | None:
    """Rails' boolean cast: absent → ``default``; blank → ``None``; false words → False."""
    if raw is None:
        return default
    if raw.strip() == "":
        return None
    return raw.strip().lower() not in _FALSE


@dataclass(frozen=True)
class UsageNarrowing:
    charge_id: str | None = None
    charge_code: str | None = None
    metric_code: str | None = None
    group: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skip_grouping: bool = False
    full_usage: bool = False

    @property
    def has_charge_filter(self) -> bool:
        return bool(self.charge_id or self.charge_code or self.metric_code)

    @property
    def changes_aggregation(self) -> bool:
        return bool(self.group) or self.skip_grouping


def _group_from_json(raw: str) -> dict[str, tuple[str, ...]]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return _group_values(parsed) if isinstance(parsed, dict) else {}


def _group_values(items: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    group: dict[str, tuple[str, ...]] = {}
    for key, value in items.items():
        values = value if isinstance(value, list) else [value]
        group[str(key)] = tuple(str(v) for v in values if v is not None)
    return group


def _bracket_key(name: str, prefix: str) -> str | None:
    """``group[region]`` / ``group[region][]`` → ``region``."""
    if not name.startswith(prefix + "[") or "]" not in name:
        return None
    return name[len(prefix) + 1 : name.index("]")] or None


def _group(items: Sequence[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    for prefix in ("group", "filter_by_group"):
        collected: dict[str, list[str]] = {}
        for name, value in items:
            if name == prefix and value:
                return _group_from_json(value)
            key = _bracket_key(name, prefix)
            if key is not None:
                collected.setdefault(key, []).append(value)
        if collected:
            return {k: tuple(v) for k, v in collected.items()}
    return {}


def parse_narrowing(items: Sequence[tuple[str, str]]) -> UsageNarrowing:
    """``UsageFilters.init_from_params`` from the query string's items."""
    params = dict(items)

    def first(*names: str) -> str | None:
        for name in names:
            value = params.get(name)
            if value:
                return value
        return None

    return UsageNarrowing(
        charge_id=first("charge_id", "filter_by_charge_id"),
        charge_code=first("charge_code", "filter_by_charge_code"),
        metric_code=first("billable_metric_code", "filter_by_metric_code"),
        group=_group(items),
        skip_grouping=bool(cast_bool(params.get("skip_grouping"), False)),
        full_usage=bool(cast_bool(params.get("full_usage"), False)),
    )


def _with_keys(keys: Sequence[str], extra: Sequence[str]) -> tuple[str, ...]:
    return tuple(keys) + tuple(k for k in extra if k not in keys)


def narrow_request(request: AggregationRequest, narrowing: UsageNarrowing) -> AggregationRequest:
    """Group keys as the narrowing wants them (restricted keys added to every bucket)."""
    extra = tuple(narrowing.group)
    filters = list(request.filters)
    group_keys: tuple[str, ...] = tuple(request.group_keys)
    if narrowing.skip_grouping:
        group_keys = ()
        filters = [replace(f, group_keys=()) for f in filters]
    if extra:
        group_keys = _with_keys(group_keys, extra)
        filters = [replace(f, group_keys=_with_keys(f.group_keys, extra)) for f in filters]
    return replace(request, group_keys=group_keys, filters=tuple(filters))


def narrow_entries(entries: Sequence[AggregationEntry], narrowing: UsageNarrowing) -> list[AggregationEntry]:
    """The entries of the wanted group values, without the restricted keys."""
    if not narrowing.group:
        return list(entries)
    kept: list[AggregationEntry] = []
    for entry in entries:
        if all(entry.group.get(k) in values for k, values in narrowing.group.items()):
            group = {k: v for k, v in entry.group.items() if k not in narrowing.group}
            kept.append(replace(entry, group=group))
    return kept


class NarrowedUsage:
    """The aggregation engine's usage with a narrowing applied (see module doc)."""

    def __init__(self, narrowing: UsageNarrowing, aggregator: Aggregator | None = None) -> None:
        self._narrowing = narrowing
        self._aggregator: Aggregator = aggregator or SqlAggregation()

    def charge_usage(
        self, ctx: Ctx, charge: ChargeView, subscription: Subscription, window: UsageWindow
    ) -> Sequence[BucketUsage]:
        if charge.metric.aggregation_type == "custom_agg":
            return ()
        request = narrow_request(request_for(ctx, charge, subscription, window), self._narrowing)
        result = self._aggregator.aggregate(ctx, request)
        return bucket_usages(narrow_entries(result.entries, self._narrowing))
