"""Billable metrics and events in Lago's API shape."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.core.money import decimal_str
from billow.core.timefmt import iso_z
from billow.metering.models import BillableMetric, BillableMetricFilter
from billow.metering.store import EventRecord

FilterList = list[dict[str, Any]]

# Deprecated since 2024-11 in Lago, still sent as zeros by create/update/delete/index.
DEPRECATED_COUNTERS = {"active_subscriptions_count": 0, "draft_invoices_count": 0, "plans_count": 0}


def filters_by_metric(session: Session, metric_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, FilterList]:
    """Filters of several metrics in one query: ordered by key, values sorted."""
    ids = list(metric_ids)
    grouped: dict[uuid.UUID, FilterList] = {i: [] for i in ids}
    if not ids:
        return grouped
    rows = session.scalars(
        select(BillableMetricFilter)
        .where(BillableMetricFilter.billable_metric_id.in_(ids))
        .order_by(BillableMetricFilter.key, BillableMetricFilter.id)
    )
    for row in rows:
        grouped[row.billable_metric_id].append({"key": row.key, "values": sorted(row.values)})
    return grouped


def billable_metric_payload(
    session: Session, metric: BillableMetric, *, counters: bool = False, filters: FilterList | None = None
) -> dict[str, Any]:
    """``BillableMetricObject``. Lago adds the zero counters on create/update/delete/index only
    (not on show, not in webhooks)."""
    payload: dict[str, Any] = {
        "lago_id": str(metric.id),
        "name": metric.name,
        "code": metric.code,
        "description": metric.description,
        "aggregation_type": metric.aggregation_type,
        "weighted_interval": metric.weighted_interval,
        "recurring": metric.recurring,
        "rounding_function": metric.rounding_function,
        "rounding_precision": metric.rounding_precision,
        "created_at": iso_z(metric.created_at),
        "field_name": metric.field_name,
        "expression": metric.expression,
    }
    if counters:
        payload.update(DEPRECATED_COUNTERS)
    payload["filters"] = (
        filters if filters is not None else filters_by_metric(session, [metric.id])[metric.id]
    )
    return payload


def billable_metrics_payload(session: Session, metrics: Sequence[BillableMetric]) -> list[dict[str, Any]]:
    """The index: counters included, filters loaded in one query."""
    filters = filters_by_metric(session, [m.id for m in metrics])
    return [billable_metric_payload(session, m, counters=True, filters=filters[m.id]) for m in metrics]


def _utc_ms(value: datetime) -> str:
    """``iso_z_ms`` for a UTC datetime, through the C ``isoformat`` (hot path)."""
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def _utc_s(value: datetime) -> str:
    return value.isoformat(timespec="seconds")[:-6] + "Z"


def event_payload(event: EventRecord, *, created_at: str | None = None) -> dict[str, Any]:
    """``EventObject`` (customer and subscription ids stay null until subscriptions exist).

    ``created_at`` may be given pre-rendered (a batch shares one)."""
    amount = event.precise_total_amount_cents
    return {
        "lago_id": str(event.id),
        "transaction_id": event.transaction_id,
        "lago_customer_id": None,
        "code": event.code,
        "timestamp": _utc_ms(event.timestamp),
        "precise_total_amount_cents": None if amount is None else decimal_str(amount),
        "properties": event.properties,
        "lago_subscription_id": None,
        "external_subscription_id": event.external_subscription_id,
        "created_at": created_at or _utc_s(event.created_at),
    }


def events_payload(events: Sequence[EventRecord]) -> list[dict[str, Any]]:
    """Events of one ingestion request (they share ``created_at``)."""
    if not events:
        return []
    created_at = _utc_s(events[0].created_at)
    same = all(e.created_at == events[0].created_at for e in events)
    return [event_payload(e, created_at=created_at if same else None) for e in events]
