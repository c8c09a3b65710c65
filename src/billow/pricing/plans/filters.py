"""Charge filters: differentiated pricing on the metric's filter keys (metering.md §3.4).

Checks follow Lago's models: a filter's ``properties`` are the charge model's (reported under
``properties``); each ``values`` entry needs a key the metric declares (``billable_metric_filter:
relation_must_exist``) and values among the declared ones or ``["__ALL_FILTER_VALUES__"]``
(``values: value_is_invalid``); a filter without values is ``values: value_is_mandatory``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from billow.core.errors import ErrorCollector, ValidationFailed
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.charge_models import normalize_properties, properties_error_details, validate_properties
from billow.pricing.plans.inputs import Raw, as_dict
from billow.pricing.plans.models import Charge, ChargeFilter
from billow.pricing.plans.repository import MetricInfo, live_filters

ALL_FILTER_VALUES = "__ALL_FILTER_VALUES__"
FilterValues = list[dict[str, Any]]


def filter_properties(charge: Charge, metric: MetricInfo, raw: Any) -> dict[str, Any]:
    """The filter's properties: the charge model's keys only (no defaults, no presentation keys);
    raises ``{"properties": [codes]}`` when invalid."""
    source = dict(as_dict(raw) or {})
    source.pop("presentation_group_keys", None)
    custom = metric.aggregation_type == "custom_agg"
    properties = normalize_properties(charge.charge_model, source, custom_agg=custom) if source else {}
    errors = validate_properties(
        charge.charge_model, properties, aggregation_type=metric.aggregation_type, premium=True
    )
    details = properties_error_details(errors)
    if details:
        raise ValidationFailed(details)
    return properties


def _values_list(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        return [""]  # a scalar is never a declared value
    return [text for item in raw if (text := casting.text(item)) is not None]


def check_values(raw: dict[str, Any], metric: MetricInfo) -> FilterValues:
    """``{key: [values]}`` → the stored list; raises for the first invalid key, as Lago does."""
    stored: FilterValues = []
    for key, raw_values in raw.items():
        values = _values_list(raw_values)
        errors = ErrorCollector()
        declared = metric.filters.get(key)
        if declared is None:
            errors.add("billable_metric_filter", "relation_must_exist")
        if not values:
            errors.add("values", "value_is_mandatory")
        if values is None or not (
            values == [ALL_FILTER_VALUES] or all(v in (declared or ()) for v in values)
        ):
            errors.add("values", "value_is_invalid")
        errors.raise_if_any()
        assert values is not None
        stored.append({"key": key, "values": values})
    return stored


def values_dict(values: FilterValues) -> dict[str, list[str]]:
    return {item["key"]: list(item["values"]) for item in values}


def _identity(values: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Lago matches a filter to an existing one by its sorted ``(key, values)`` pairs."""
    return tuple(sorted((k, tuple(v)) for k, v in values.items()))


def _blank_values(raw: Raw) -> bool:
    values = raw.get("values")
    return not isinstance(values, dict) or not values


def replace_filters(ctx: Ctx, charge: Charge, metric: MetricInfo, items: Sequence[Raw]) -> None:
    """Lago's batch: filters with the same values as an existing one update it, others are
    created, and the charge's other filters are deleted. ``[]`` deletes them all."""
    if items and any(_blank_values(item) for item in items):
        raise ValidationFailed({"values": ["value_is_mandatory"]})
    now = ctx.now()
    existing = live_filters(ctx.session, [charge.id])[charge.id]
    by_identity: dict[Any, ChargeFilter] = {}
    for row in existing:
        by_identity.setdefault(_identity(values_dict(row.values)), row)
    kept: set[Any] = set()
    for item in items:
        properties = filter_properties(charge, metric, item.get("properties"))
        stored = check_values(item["values"], metric)
        found = by_identity.get(_identity(values_dict(stored)))
        display = casting.text(item.get("invoice_display_name"))
        if found is None:
            row = ChargeFilter(
                organization_id=ctx.org_id,
                charge_id=charge.id,
                invoice_display_name=display,
                properties=properties,
                values=stored,
                created_at=now,
                updated_at=now,
            )
            ctx.session.add(row)
        else:
            row = found
            merged = values_dict(row.values)
            merged.update(values_dict(stored))
            row.invoice_display_name = display
            row.properties = properties
            row.values = [{"key": k, "values": v} for k, v in merged.items()]
            row.updated_at = now
        ctx.session.flush()
        kept.add(row.id)
    for row in existing:
        if row.id not in kept:
            row.deleted_at = now
            row.updated_at = now
    ctx.session.flush()


def create_filter(ctx: Ctx, charge: Charge, metric: MetricInfo, raw: Raw) -> ChargeFilter:
    """``POST /plans/{code}/charges/{charge_code}/filters``."""
    if _blank_values(raw):
        raise ValidationFailed({"values": ["value_is_mandatory"]})
    properties = filter_properties(charge, metric, raw.get("properties"))
    stored = check_values(raw["values"], metric)
    now = ctx.now()
    row = ChargeFilter(
        organization_id=ctx.org_id,
        charge_id=charge.id,
        invoice_display_name=casting.text(raw.get("invoice_display_name")),
        properties=properties,
        values=stored,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def update_filter(ctx: Ctx, row: ChargeFilter, charge: Charge, metric: MetricInfo, raw: Raw) -> ChargeFilter:
    """Only ``invoice_display_name`` and ``properties`` change (as sent); values are fixed."""
    if "properties" in raw:
        row.properties = filter_properties(charge, metric, raw.get("properties"))
    if "invoice_display_name" in raw:
        row.invoice_display_name = casting.text(raw.get("invoice_display_name"))
    row.updated_at = ctx.now()
    ctx.session.flush()
    return row


def delete_filter(ctx: Ctx, row: ChargeFilter) -> ChargeFilter:
    now = ctx.now()
    row.deleted_at = now
    row.updated_at = now
    ctx.session.flush()
    return row


def copy_filters(ctx: Ctx, source: Charge, target: Charge) -> None:
    """Child charges start with their parent's filters (overrides, cascades)."""
    now = ctx.now()
    for row in live_filters(ctx.session, [source.id])[source.id]:
        ctx.session.add(
            ChargeFilter(
                organization_id=row.organization_id,
                charge_id=target.id,
                invoice_display_name=row.invoice_display_name,
                properties=dict(row.properties),
                values=[dict(v) for v in row.values],
                created_at=now,
                updated_at=now,
            )
        )
    ctx.session.flush()
