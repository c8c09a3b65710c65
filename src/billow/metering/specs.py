"""Build the aggregation engine's :class:`MetricSpec` from a stored billable metric."""

from __future__ import annotations

from sqlalchemy import select

from billow.db.context import Ctx
from billow.metering.aggregation import MetricSpec
from billow.metering.models import BillableMetric, BillableMetricFilter


def metric_spec(ctx: Ctx, metric: BillableMetric) -> MetricSpec:
    """The metric with its declared filters (one query)."""
    rows = ctx.session.execute(
        select(BillableMetricFilter.key, BillableMetricFilter.values)
        .where(
            BillableMetricFilter.organization_id == ctx.org_id,
            BillableMetricFilter.billable_metric_id == metric.id,
        )
        .order_by(BillableMetricFilter.key)
    ).all()
    return MetricSpec(
        code=metric.code,
        aggregation_type=metric.aggregation_type,
        field_name=metric.field_name,
        recurring=bool(metric.recurring),
        rounding_function=metric.rounding_function,
        rounding_precision=metric.rounding_precision,
        filters={key: tuple(values) for key, values in rows},
    )


def metric_spec_by_code(ctx: Ctx, code: str) -> MetricSpec:
    """The live metric ``code`` of the organization as a spec (``LookupError`` if unknown)."""
    metric = ctx.session.scalar(
        select(BillableMetric).where(
            BillableMetric.organization_id == ctx.org_id,
            BillableMetric.code == code,
            BillableMetric.deleted_at.is_(None),
        )
    )
    if metric is None:
        raise LookupError(code)
    return metric_spec(ctx, metric)
