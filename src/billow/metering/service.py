"""Billable metrics: create, read, update, soft-delete (by code), and expression evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from billow.core.errors import ErrorCollector, Forbidden, NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.metering.events.parsing import is_blank, ruby_to_i, scalar_text
from billow.metering.expressions import (
    EventContext,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    format_result,
    parse_expression,
)
from billow.metering.hooks import MetricHooks
from billow.metering.models import (
    AGGREGATION_TYPES,
    ROUNDING_FUNCTIONS,
    WEIGHTED_INTERVALS,
    BillableMetric,
    BillableMetricFilter,
)
from billow.metering.schemas import BillableMetricInput, EvaluateExpressionInput
from billow.webhooks.emitter import emit

# Fields a metric attached to a plan may still change (others are silently ignored, as in Lago).
ALWAYS_EDITABLE = frozenset({"name", "description", "filters"})
NO_RECURRING = frozenset({"count_agg", "max_agg", "latest_agg"})
NO_FIELD_NAME = frozenset({"count_agg", "custom_agg"})
_INVALID = object()


@dataclass
class _State:
    """A metric's fields after the request's changes, before validation."""

    name: str | None = None
    code: str | None = None
    description: str | None = None
    aggregation_type: Any = None
    weighted_interval: Any = None
    recurring: Any = False
    field_name: str | None = None
    expression: Any = None
    rounding_function: Any = None
    rounding_precision: Any = None
    invalid: set[str] = field(default_factory=set)


def _recurring(raw: Any) -> Any:
    if raw is None:
        return False
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return _INVALID


def _precision(raw: Any) -> Any:
    if raw is None or (isinstance(raw, int) and not isinstance(raw, bool)):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw)
    return _INVALID


def _enum(raw: Any, allowed: tuple[str, ...]) -> Any:
    if raw is None:
        return None
    return raw if isinstance(raw, str) and raw in allowed else _INVALID


def _apply(state: _State, data: BillableMetricInput, fields: set[str]) -> None:
    if "name" in fields:
        state.name = scalar_text(data.name)
    if "code" in fields:
        state.code = scalar_text(data.code)
    if "description" in fields:
        state.description = scalar_text(data.description)
    if "aggregation_type" in fields:
        agg = data.aggregation_type
        state.aggregation_type = agg if isinstance(agg, str) and agg in AGGREGATION_TYPES else None
    if "weighted_interval" in fields:
        state.weighted_interval = _enum(data.weighted_interval, WEIGHTED_INTERVALS)
    if "field_name" in fields:
        state.field_name = scalar_text(data.field_name)
    if "recurring" in fields:
        state.recurring = _recurring(data.recurring)
    if "rounding_function" in fields:
        state.rounding_function = _enum(data.rounding_function, ROUNDING_FUNCTIONS)
    if "rounding_precision" in fields:
        state.rounding_precision = _precision(data.rounding_precision)
    if "expression" in fields:
        expr = data.expression
        state.expression = expr if expr is None or isinstance(expr, str) else _INVALID


def _code_taken(ctx: Ctx, code: str, exclude: BillableMetric | None) -> bool:
    stmt = select(BillableMetric.id).where(
        BillableMetric.organization_id == ctx.org_id,
        BillableMetric.code == code,
        BillableMetric.deleted_at.is_(None),
    )
    if exclude is not None:
        stmt = stmt.where(BillableMetric.id != exclude.id)
    return ctx.session.scalar(stmt.limit(1)) is not None


def _validate(ctx: Ctx, state: _State, existing: BillableMetric | None) -> None:
    """The model's rules on the final state (Lago's order of error keys)."""
    errors = ErrorCollector()
    agg = state.aggregation_type
    if agg == "count_agg":
        state.field_name = None
    if state.recurring is _INVALID:
        errors.add("recurring", "value_is_invalid")
    elif state.recurring and agg in NO_RECURRING:
        errors.add("recurring", "not_compatible_with_aggregation_type")
    if state.expression is _INVALID:
        errors.add("expression", "invalid_expression")
    elif isinstance(state.expression, str) and state.expression.strip():
        try:
            parse_expression(state.expression)
        except ExpressionSyntaxError:
            errors.add("expression", "invalid_expression")
    if is_blank(state.name):
        errors.add("name", "value_is_mandatory")
    if agg not in NO_FIELD_NAME and is_blank(state.field_name):
        errors.add("field_name", "value_is_mandatory")
    if agg is None:
        errors.add("aggregation_type", "value_is_invalid")
    if state.code is None or is_blank(state.code):
        errors.add("code", "value_is_mandatory")
    elif _code_taken(ctx, state.code, existing):
        errors.add("code", "value_already_exist")
    if state.weighted_interval is _INVALID or (
        agg == "weighted_sum_agg" and state.weighted_interval != "seconds"
    ):
        errors.add("weighted_interval", "value_is_invalid")
    if state.rounding_function is _INVALID:
        errors.add("rounding_function", "value_is_invalid")
    if state.rounding_precision is _INVALID:
        errors.add("rounding_precision", "value_is_invalid")
    errors.raise_if_any()


def _filters_input(raw: Any) -> list[tuple[str, list[str]]]:
    """``[{key, values}]`` → ``[(key, unique values)]``; a repeated key keeps its last values."""
    if not isinstance(raw, list):
        raise ValidationFailed({"filters": ["value_is_invalid"]})
    errors = ErrorCollector()
    parsed: dict[str, list[str]] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise ValidationFailed({"filters": ["value_is_invalid"]})
        values = item.get("values")
        texts = [scalar_text(v) for v in values] if isinstance(values, list) else []
        if not texts:
            errors.add("values", "value_is_mandatory")
        elif any(t is None for t in texts):
            errors.add("values", "value_is_invalid")
        key = scalar_text(item.get("key"))
        if key is None or is_blank(key):
            errors.add("key", "value_is_mandatory")
            continue
        parsed.pop(key, None)
        parsed[key] = list(dict.fromkeys(t for t in texts if t is not None))
    errors.raise_if_any()
    return list(parsed.items())


def _save_filters(
    ctx: Ctx, metric: BillableMetric, filters: list[tuple[str, list[str]]]
) -> dict[str, list[str]]:
    """Replace the metric's filters: same key → values updated in place (id kept), others removed.
    Returns the filters as they were (``{key: values}``)."""
    existing = {
        f.key: f
        for f in ctx.session.scalars(
            select(BillableMetricFilter).where(BillableMetricFilter.billable_metric_id == metric.id)
        )
    }
    before = {key: list(f.values) for key, f in existing.items()}
    now = ctx.now()
    for key, values in filters:
        row = existing.pop(key, None)
        if row is None:
            ctx.session.add(
                BillableMetricFilter(
                    organization_id=ctx.org_id,
                    billable_metric_id=metric.id,
                    key=key,
                    values=values,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif row.values != values:
            row.values = values
            row.updated_at = now
    if existing:
        ctx.session.execute(
            delete(BillableMetricFilter).where(BillableMetricFilter.id.in_([f.id for f in existing.values()]))
        )
    return before


def _flush(ctx: Ctx) -> None:
    """Flush in a savepoint: losing a race on the unique code is a 422, not a 500."""
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def attached_to_plan(ctx: Ctx, metric: BillableMetric) -> bool:
    """Whether a live plan has a live charge on this metric (then only name, description and
    filters may change), as the plans package answers through ``MetricHooks``."""
    return any(attached(ctx, metric.id) for attached in ctx.hooks.get(MetricHooks).attached_to_plans)


def create_metric(ctx: Ctx, data: BillableMetricInput) -> BillableMetric:
    fields = set(data.model_fields_set)
    if data.aggregation_type == "custom_agg":
        # custom_agg runs a user's Ruby script in Lago (premium flag); Billow cannot.
        raise Forbidden("feature_unavailable")
    state = _State()
    _apply(state, data, fields)
    _validate(ctx, state, None)
    filters = _filters_input(data.filters) if data.filters not in (None, []) else []
    now = ctx.now()
    metric = BillableMetric(
        organization_id=ctx.org_id,
        name=state.name,
        code=state.code,
        description=state.description,
        aggregation_type=state.aggregation_type,
        weighted_interval=state.weighted_interval,
        recurring=bool(state.recurring),
        field_name=state.field_name,
        expression=state.expression,
        rounding_function=state.rounding_function,
        rounding_precision=state.rounding_precision,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(metric)
    _flush(ctx)
    if filters:
        _save_filters(ctx, metric, filters)
        ctx.session.flush()
    emit(ctx, "billable_metric.created", metric)
    return metric


def get_metric(ctx: Ctx, code: str) -> BillableMetric:
    metric = ctx.session.scalar(
        select(BillableMetric).where(
            BillableMetric.organization_id == ctx.org_id,
            BillableMetric.code == code,
            BillableMetric.deleted_at.is_(None),
        )
    )
    if metric is None:
        raise NotFound("billable_metric")
    return metric


def update_metric(ctx: Ctx, code: str, data: BillableMetricInput) -> BillableMetric:
    metric = get_metric(ctx, code)
    if data.aggregation_type == "custom_agg":
        raise Forbidden("feature_unavailable")
    fields = set(data.model_fields_set)
    if attached_to_plan(ctx, metric):
        fields &= ALWAYS_EDITABLE
    state = _State(
        name=metric.name,
        code=metric.code,
        description=metric.description,
        aggregation_type=metric.aggregation_type,
        weighted_interval=metric.weighted_interval,
        recurring=metric.recurring,
        field_name=metric.field_name,
        expression=metric.expression,
        rounding_function=metric.rounding_function,
        rounding_precision=metric.rounding_precision,
    )
    _apply(state, data, fields)
    _validate(ctx, state, metric)
    filters = (
        _filters_input(data.filters if data.filters is not None else []) if "filters" in fields else None
    )
    metric.name = state.name or ""
    metric.code = state.code or ""
    metric.description = state.description
    metric.aggregation_type = state.aggregation_type
    metric.weighted_interval = state.weighted_interval
    metric.recurring = bool(state.recurring)
    metric.field_name = state.field_name
    metric.expression = state.expression
    metric.rounding_function = state.rounding_function
    metric.rounding_precision = state.rounding_precision
    metric.updated_at = ctx.now()
    _flush(ctx)
    if filters is not None:
        before = _save_filters(ctx, metric, filters)
        ctx.session.flush()
        after = dict(filters)
        if before != after:
            for changed in ctx.hooks.get(MetricHooks).filters_changed:
                changed(ctx, metric.id, before, after)
    emit(ctx, "billable_metric.updated", metric)
    return metric


def delete_metric(ctx: Ctx, code: str) -> BillableMetric:
    """Soft delete (frees the code); then, in the same transaction, ``MetricHooks.on_delete``
    deletes the charges on it (Lago's ``BillableMetrics::DestroyService``). Hooks still to wire
    when those packages exist: its alerts deleted, draft invoices using it flagged for refresh."""
    metric = get_metric(ctx, code)
    metric.deleted_at = ctx.now()
    metric.updated_at = metric.deleted_at
    ctx.session.flush()
    for discard in ctx.hooks.get(MetricHooks).on_delete:
        discard(ctx, metric.id)
    ctx.session.flush()
    emit(ctx, "billable_metric.deleted", metric)
    return metric


def list_metrics(ctx: Ctx, page: PageParams) -> tuple[list[BillableMetric], int]:
    base = select(BillableMetric).where(
        BillableMetric.organization_id == ctx.org_id, BillableMetric.deleted_at.is_(None)
    )
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(BillableMetric.created_at.desc(), BillableMetric.id)
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return list(items), total


def _stringify(value: Any) -> str:
    text = scalar_text(value)
    if text is not None:
        return text
    return "" if value is None else str(value)


def evaluate_expression(ctx: Ctx, data: EvaluateExpressionInput) -> str:
    """Evaluate ``expression`` against a sample ``event`` (properties are stringified first)."""
    expression = data.expression
    if expression is None or (isinstance(expression, str) and not expression.strip()):
        raise ValidationFailed({"expression": ["value_is_mandatory"]})
    if not isinstance(expression, str):
        raise ValidationFailed({"expression": ["invalid_expression"]})
    try:
        parsed = parse_expression(expression)
    except ExpressionSyntaxError as exc:
        raise ValidationFailed({"expression": ["invalid_expression"]}) from exc
    event: dict[str, Any] = data.event if isinstance(data.event, dict) else {}
    timestamp = ruby_to_i(event.get("timestamp"))
    if timestamp is None:
        timestamp = int(ctx.now().timestamp())
    raw_properties = event.get("properties")
    properties = (
        {str(k): _stringify(v) for k, v in raw_properties.items()} if isinstance(raw_properties, dict) else {}
    )
    code = event.get("code")
    try:
        result = parsed.evaluate(EventContext(_stringify(code), timestamp, properties))
    except ExpressionEvaluationError as exc:
        raise ValidationFailed({"event": ["invalid_event"]}) from exc
    return format_result(result)
