"""The :class:`~billow.billing.fees.usage.UsageSource` backed by the metering aggregation engine.

One aggregation request per charge: the charge's filters (oldest first, each with its own
pricing group keys), the charge's group keys (plus ``target_wallet_code`` when the charge
accepts a target wallet), and the options its charge model needs — per-event values for
``percentage``, Σ ``precise_total_amount_cents`` for ``dynamic``, proration for prorated charges
(one day less for a subscription terminated by an upgrade), the period length for weighted sums
(a recurring weighted sum starts from the level its events reached before the window).
``custom_agg`` metrics are not aggregated (they price zero units).

Current usage of a (non-prorated) pay-in-advance charge prices the period's high-water mark
(metering.md §3.8): ``units = total − current + max`` from the engine's ``high_water`` state,
while the fee shows the actual total (``BucketUsage.current_usage_units``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from billow.billing.catalog import metric_aggregation_spec
from billow.billing.fees.usage import BucketUsage, UsageWindow
from billow.db.context import Ctx
from billow.metering.aggregation import (
    AggregationEntry,
    AggregationOptions,
    AggregationRequest,
    AggregationResult,
    FilterSpec,
    ProrationOptions,
    WeightedSumOptions,
)
from billow.metering.store.aggregate_sql import SqlAggregation
from billow.pricing.charge_models import ProratedEventValue
from billow.pricing.plans.filters import values_dict
from billow.pricing.plans.views import ChargeView
from billow.subscriptions.models import Subscription
from billow.subscriptions.periods import day_count

PRORATABLE = ("sum_agg", "unique_count_agg")
HIGH_WATER = ("count_agg", "sum_agg", "unique_count_agg")
# What makes a ``percentage`` charge read its events one by one (free allowances, per-transaction
# min/max); without any of them it prices from the units and the events count alone.
PER_EVENT_PERCENTAGE_KEYS = (
    "free_units_per_events",
    "free_units_per_total_aggregation",
    "per_transaction_min_amount",
    "per_transaction_max_amount",
)


class Aggregator(Protocol):
    def aggregate(self, ctx: Ctx, request: AggregationRequest) -> AggregationResult: ...


def _keys(properties: dict[str, Any]) -> list[str]:
    keys = properties.get("pricing_group_keys") or properties.get("grouped_by") or []
    return [k for k in keys if isinstance(k, str) and k]


def reads_event_values(view: ChargeView) -> bool:
    """Whether pricing ``view`` on an invoice or as current usage needs the per-event values
    (reading them is one more scan returning every event: most of the time of a large usage)."""
    if view.charge.charge_model != "percentage":
        return False
    found = [dict(view.charge.properties or {}), *(dict(f.properties or {}) for f in view.filters)]
    return any(props.get(key) not in (None, "") for props in found for key in PER_EVENT_PERCENTAGE_KEYS)


def _options(view: ChargeView, window: UsageWindow, event_values: bool | None) -> AggregationOptions:
    charge, metric = view.charge, view.metric
    models = {charge.charge_model}
    proration = None
    # A pay-in-advance charge renewed on an invoice bills its carried-over units at full value
    # (§3.8); only its per-event fees and current usage are prorated.
    renewal = charge.pay_in_advance and not window.current_usage
    if charge.prorated and metric.aggregation_type in PRORATABLE and not renewal:
        persisted = day_count(window.from_datetime, window.to_datetime, window.timezone)
        if window.upgraded_away:
            persisted = max(persisted - 1, 0)
        proration = ProrationOptions(window.duration_days, window.timezone, persisted)
    weighted = None
    if metric.aggregation_type == "weighted_sum_agg":
        weighted = WeightedSumOptions(window.duration_days, initial_from_events=bool(metric.recurring))
    high_water = (
        window.current_usage
        and charge.pay_in_advance
        and not charge.prorated
        and metric.aggregation_type in HIGH_WATER
    )
    return AggregationOptions(
        event_values="percentage" in models if event_values is None else event_values,
        precise_total_amount="dynamic" in models,
        proration=proration,
        weighted=weighted,
        high_water=high_water,
    )


def request_for(
    ctx: Ctx,
    view: ChargeView,
    subscription: Subscription,
    window: UsageWindow,
    *,
    event_values: bool | None = None,
) -> AggregationRequest:
    """``event_values``: read the per-event values (default: for every ``percentage`` charge, as
    pay-in-advance pricing needs them)."""
    charge = view.charge
    group_keys = _keys(dict(charge.properties))
    if charge.accepts_target_wallet and "target_wallet_code" not in group_keys:
        group_keys.append("target_wallet_code")
    return AggregationRequest(
        organization_id=ctx.org_id,
        external_subscription_id=subscription.external_id,
        metric=metric_aggregation_spec(ctx, view.metric),
        from_datetime=window.from_datetime,
        to_datetime=window.to_datetime,
        filters=tuple(
            FilterSpec(id=f.id, values=values_dict(f.values), group_keys=tuple(_keys(dict(f.properties))))
            for f in view.filters
        ),
        group_keys=tuple(group_keys),
        options=_options(view, window, event_values),
    )


def bucket_usage(entry: AggregationEntry) -> BucketUsage:
    """One engine entry as billing prices it (high-water pricing when the entry carries it)."""
    units, shown = entry.units, None
    if entry.high_water is not None:
        units, shown = entry.units - entry.high_water.current + entry.high_water.max, entry.units
    return BucketUsage(
        charge_filter_id=entry.filter_id,  # type: ignore[arg-type]
        units=units,
        events_count=entry.events_count,
        grouped_by=dict(entry.group),
        total_aggregated_units=entry.total_aggregated_units,
        event_values=entry.event_values,
        precise_total_amount_cents=entry.precise_total_amount_cents,
        full_units_number=entry.full_units_number,
        prorated_events=tuple(ProratedEventValue(p.full, p.prorated) for p in entry.prorated_events),
        current_usage_units=shown,
    )


def bucket_usages(entries: Iterable[AggregationEntry]) -> list[BucketUsage]:
    return [bucket_usage(entry) for entry in entries]


class AggregatedUsage:
    """Usage of a charge from the event store, through the aggregation engine."""

    def __init__(self, aggregator: Aggregator | None = None) -> None:
        self._aggregator: Aggregator = aggregator or SqlAggregation()

    def charge_usage(
        self, ctx: Ctx, charge: ChargeView, subscription: Subscription, window: UsageWindow
    ) -> Sequence[BucketUsage]:
        if charge.metric.aggregation_type == "custom_agg":
            return ()
        request = request_for(ctx, charge, subscription, window, event_values=reads_event_values(charge))
        result = self._aggregator.aggregate(ctx, request)
        return bucket_usages(result.entries)
