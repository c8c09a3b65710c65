"""Event ingestion (single and batch, all-or-nothing), listing and lookup.

Pipeline per event, as Lago's Postgres path: read the timestamp, apply the metric's expression
(writing ``properties[field_name]`` as a decimal string), check ``transaction_id``/``code``, then
one deduplicating insert for the whole request. Any error rejects the request and nothing is
stored: the caller's transaction is rolled back when ``ValidationFailed`` propagates.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from billow.core.errors import NotFound, ValidationFailed
from billow.core.ids import new_id, new_ids
from billow.core.pagination import PageParams
from billow.core.timefmt import parse_iso_datetime
from billow.db.context import Ctx
from billow.metering.events.parsing import (
    EPOCH,
    InvalidTimestamp,
    is_blank,
    numeric_value,
    parse_amount,
    parse_timestamp,
    property_text,
    scalar_text,
)
from billow.metering.expressions import EventContext, ExpressionEvaluationError, format_result
from billow.metering.hooks import IngestionHooks
from billow.metering.lookup import IngestMetric, MetricCache, MetricResolver
from billow.metering.store import EventFilters, EventRecord, EventStore

ErrorValue = dict[str, list[str]] | str
_ONE_SECOND = timedelta(seconds=1)


def event_ids(count: int) -> list[uuid.UUID]:
    """Time-ordered (v7) ids for a batch, in order, from ONE ``urandom`` call (a syscall per id
    costs more than the rest of an event's preparation). Events at one timestamp are ordered by
    ``(created_at, id)``, which is then ingestion order even when a batch (or the manual clock)
    gives them all one ``created_at`` — the order pay-in-advance fees follow. The events table
    does not index ``id``."""
    return new_ids(count)


def _code_of(raw: Any) -> str | None:
    return scalar_text(raw.get("code")) if isinstance(raw, dict) else None


def _prepare(
    raw: Any,
    *,
    org_id: uuid.UUID,
    now: datetime,
    metrics: Mapping[str, IngestMetric],
    presence_first: bool,
    event_id: uuid.UUID,
) -> EventRecord | ErrorValue:
    """One event input → a record to insert, or its error (Lago's precedence, see module doc)."""
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    try:
        timestamp = parse_timestamp(data.get("timestamp"), now)
    except InvalidTimestamp:
        return {"timestamp": ["invalid_format"]}
    transaction_id = scalar_text(data.get("transaction_id"))
    code = scalar_text(data.get("code"))
    presence: dict[str, list[str]] = {}
    if is_blank(transaction_id):
        presence["transaction_id"] = ["value_is_mandatory"]
    if is_blank(code):
        presence["code"] = ["value_is_mandatory"]
    if presence and presence_first:
        return presence
    props = data.get("properties")
    properties: dict[str, Any] = props if isinstance(props, dict) else {}
    metric = metrics.get(code) if code else None
    if metric is not None and metric.expression is not None:
        seconds = (timestamp - EPOCH) // _ONE_SECOND
        try:
            result = metric.expression.evaluate(EventContext(code or "", seconds, properties))
        except ExpressionEvaluationError as exc:
            return f"expression_evaluation_failed: {exc}"
        if metric.field_name is not None:
            properties[metric.field_name] = format_result(result)
    if presence:
        return presence
    value_field = metric.field_name if metric is not None else None
    value_text = property_text(properties.get(value_field)) if value_field is not None else None
    return EventRecord(
        id=event_id,
        organization_id=org_id,
        transaction_id=transaction_id or "",
        external_subscription_id=scalar_text(data.get("external_subscription_id")),
        code=code or "",
        timestamp=timestamp,
        properties=properties,
        precise_total_amount_cents=parse_amount(data.get("precise_total_amount_cents")),
        value=numeric_value(value_text),
        value_text=value_text,
        value_field=value_field,
        created_at=now,
    )


DUPLICATE: dict[str, list[str]] = {"transaction_id": ["value_already_exist"]}


def prepare_one(ctx: Ctx, raw: Any, *, metrics: MetricResolver) -> EventRecord:
    """``POST /events`` up to the insert: the record to store, or 422 (nothing stored).

    The error body is Lago's: ``{field: [codes]}``, or for an expression that cannot be
    evaluated, the evaluator's message as ``error_details`` (a string).
    """
    code = _code_of(raw)
    resolved = metrics(ctx, [code]) if code else {}
    prepared = _prepare(
        raw, org_id=ctx.org_id, now=ctx.now(), metrics=resolved, presence_first=False, event_id=new_id()
    )
    if not isinstance(prepared, EventRecord):
        raise ValidationFailed(prepared)  # type: ignore[arg-type]  # a str is Lago's shape here
    return prepared


def prepare_one_cached(
    org_id: uuid.UUID, raw: Any, *, now: datetime, metrics: MetricCache
) -> EventRecord | None:
    """``prepare_one`` without a database: ``None`` when the metric of the event's code is not in
    ``metrics``' cache (then call ``prepare_one``). Runs on the event loop."""
    code = _code_of(raw)
    resolved = metrics.cached(org_id, (code,)) if code else {}
    if resolved is None:
        return None
    prepared = _prepare(
        raw, org_id=org_id, now=now, metrics=resolved, presence_first=False, event_id=new_id()
    )
    if not isinstance(prepared, EventRecord):
        raise ValidationFailed(prepared)  # type: ignore[arg-type]  # a str is Lago's shape here
    return prepared


def ingest_one(ctx: Ctx, raw: Any, *, metrics: MetricResolver, store: EventStore) -> EventRecord:
    """``POST /events`` in the caller's transaction: 422 on a bad event or a duplicate."""
    record = prepare_one(ctx, raw, metrics=metrics)
    if store.insert_many(ctx, [record]):
        raise ValidationFailed(DUPLICATE)
    notify_inserted(ctx, [record], metrics=metrics)
    return record


def prepare_batch(
    ctx: Ctx, raw_events: Any, *, max_length: int, metrics: MetricResolver
) -> list[EventRecord]:
    """``POST /events/batch`` up to the insert: every record, or 422 keyed by index (as a string)."""
    _check_batch(raw_events, max_length)
    codes = {c for c in map(_code_of, raw_events) if c}
    resolved = metrics(ctx, codes) if codes else {}
    return _prepare_all(raw_events, org_id=ctx.org_id, now=ctx.now(), metrics=resolved)


def prepare_batch_cached(
    org_id: uuid.UUID, raw_events: Any, *, now: datetime, max_length: int, metrics: MetricCache
) -> list[EventRecord] | None:
    """``prepare_batch`` without a database: ``None`` when a code's metric is not in ``metrics``'
    cache (then call ``prepare_batch``)."""
    _check_batch(raw_events, max_length)
    codes = {c for c in map(_code_of, raw_events) if c}
    resolved = metrics.cached(org_id, codes) if codes else {}
    if resolved is None:
        return None
    return _prepare_all(raw_events, org_id=org_id, now=now, metrics=resolved)


def _check_batch(raw_events: Any, max_length: int) -> None:
    if not isinstance(raw_events, list) or not raw_events:
        raise ValidationFailed({"events": ["no_events"]})
    if len(raw_events) > max_length:
        raise ValidationFailed({"events": ["too_many_events"]})


def _prepare_all(
    raw_events: list[Any], *, org_id: uuid.UUID, now: datetime, metrics: Mapping[str, IngestMetric]
) -> list[EventRecord]:
    records: list[EventRecord] = []
    errors: dict[str, ErrorValue] = {}
    ids = event_ids(len(raw_events))
    for index, raw in enumerate(raw_events):
        prepared = _prepare(
            raw, org_id=org_id, now=now, metrics=metrics, presence_first=True, event_id=ids[index]
        )
        if isinstance(prepared, EventRecord):
            records.append(prepared)
        else:
            errors[str(index)] = prepared
    if errors:
        raise ValidationFailed(errors)
    return records


def store_batch(ctx: Ctx, records: list[EventRecord], *, store: EventStore) -> None:
    """Insert all or nothing: any duplicate (stored already, or earlier in the batch) is a 422 keyed
    by index, and the caller's transaction must roll back (it does when the error propagates)."""
    duplicates = store.insert_many(ctx, records)
    if duplicates:
        raise ValidationFailed({str(i): DUPLICATE for i in duplicates})


def ingest_batch(
    ctx: Ctx, raw_events: Any, *, max_length: int, metrics: MetricResolver, store: EventStore
) -> list[EventRecord]:
    """``POST /events/batch`` in the caller's transaction."""
    records = prepare_batch(ctx, raw_events, max_length=max_length, metrics=metrics)
    store_batch(ctx, records, store=store)
    notify_inserted(ctx, records, metrics=metrics)
    return records


def notify_inserted(ctx: Ctx, records: Sequence[EventRecord], *, metrics: MetricResolver) -> None:
    """Hand inserted events to the ingestion listeners that want their codes, in the inserting
    transaction (``IngestionHooks``): one call per listener with all of its events. Costs two
    set scans and a cache lookup when nobody listens to these codes."""
    listeners = ctx.hooks.get(IngestionHooks).listeners
    if not listeners or not records:
        return
    resolved = metrics(ctx, {r.code for r in records})
    wanted = {name for metric in resolved.values() for name in metric.listeners}
    for listener in listeners:
        if listener.name not in wanted:
            continue
        mine = [
            r for r in records if (m := resolved.get(r.code)) is not None and listener.name in m.listeners
        ]
        if mine:
            listener.after_insert(ctx, mine)


def get_event(ctx: Ctx, transaction_id: str, *, store: EventStore) -> EventRecord:
    record = store.get(ctx, transaction_id)
    if record is None:
        raise NotFound("event")
    return record


def subscription_started_at(ctx: Ctx, external_subscription_id: str) -> datetime | None:
    """Hook for ``timestamp_from_started_at``: the subscription's ``started_at``.

    Subscriptions do not exist yet, so there is never one and, exactly as Lago does when the
    subscription is not found, the list gets no lower bound. Wire it to the subscriptions
    service when it lands.
    """
    return None


def _datetime_filter(name: str, raw: str | None) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_iso_datetime(raw)
    except ValueError as exc:
        raise ValidationFailed({name: ["invalid_date"]}) from exc


def event_filters(ctx: Ctx, params: Mapping[str, str]) -> EventFilters:
    """``GET /events`` query parameters, validated as Lago's ``EventsQueryFiltersContract``."""
    started = params.get("timestamp_from_started_at")
    if started is not None and started not in ("true", "false"):
        raise ValidationFailed({"timestamp_from_started_at": ["must be one of: true, false"]})
    subscription_id = params.get("external_subscription_id")
    timestamp_from = params.get("timestamp_from")
    if started == "true":
        errors: dict[str, list[str]] = {}
        if timestamp_from:
            errors["timestamp_from"] = ["cannot be used with timestamp_from_started_at"]
        if not subscription_id or not subscription_id.strip():
            errors["external_subscription_id"] = ["required with timestamp_from_started_at"]
        if errors:
            raise ValidationFailed(errors)
    lower = _datetime_filter("timestamp_from", timestamp_from)
    upper = _datetime_filter("timestamp_to", params.get("timestamp_to"))
    if started == "true" and subscription_id:
        lower = subscription_started_at(ctx, subscription_id)
    return EventFilters(
        code=params.get("code") or None,
        external_subscription_id=subscription_id or None,
        timestamp_from=lower,
        timestamp_to=upper,
    )


def list_events(
    ctx: Ctx, params: Mapping[str, str], page: PageParams, *, store: EventStore
) -> tuple[list[EventRecord], int]:
    return store.list(ctx, event_filters(ctx, params), page)
