"""Catalog reads of the invoice path, shared by the consecutive billing jobs of a worker batch.

A billing run bills every subscription in a job of its own; without sharing, each job reads the
same plan's charges, metrics, filters, fixed charges, commitment and taxes again. When the worker
hands the job a ``Ctx.shared_reads`` cache (job kinds declaring ``shares_reads``), these reads are
made once per batch and kept as **snapshots**: copies of the rows' column values that belong to no
session, so that nothing a job does to its own session (flush, rollback, expiry, close) can change
or invalidate what the next job reads. Billing never writes the catalog, so within one batch the
snapshot equals what the job would read, unless a concurrent transaction changes the catalog
during the batch (the later jobs then price as if they had run before that change).

Without a cache (API requests, previews, tests calling the services) every function here reads
the database exactly as the functions it wraps.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from billow.billing.fees.drafts import tax_rates
from billow.billing.math import TaxRate
from billow.db.context import Ctx
from billow.metering.aggregation import MetricSpec
from billow.metering.models import BillableMetric
from billow.metering.specs import metric_spec
from billow.pricing.plans.lookup import (
    charges_for_plan,
    fixed_charges_for_plan,
    has_unbilled_advance_charges,
    minimum_commitment,
    plan_taxes,
)
from billow.pricing.plans.models import Commitment, Plan
from billow.pricing.plans.views import ChargeView, FixedChargeView
from billow.pricing.taxes.models import Tax
from billow.pricing.taxes.service import billing_entity_taxes

R = TypeVar("R")


def _shared(
    ctx: Ctx, kind: str, key: uuid.UUID, load: Callable[[], Any], snapshot: Callable[[Any], Any]
) -> Any:
    """``load()`` without a batch cache; else its snapshot, read once per batch."""
    cache = ctx.shared_reads
    if cache is None:
        return load()
    full = ("billing.catalog", kind, ctx.org_id, key)
    if full not in cache:
        cache[full] = snapshot(load())
    return cache[full]


def snapshot_row(row: R) -> R:
    """A copy of an ORM row's column values in a new (detached) instance of no session."""
    mapper = inspect(row).mapper
    copied: Any = mapper.class_manager.new_instance()
    for attr in mapper.column_attrs:
        set_committed_value(copied, attr.key, copy.deepcopy(getattr(row, attr.key)))
    make_transient_to_detached(copied)
    return copied  # type: ignore[no-any-return]


def plan_by_id(ctx: Ctx, plan_id: uuid.UUID) -> Plan | None:
    """``session.get(Plan, plan_id)``. With a batch cache, a plan an earlier job of the batch read
    is put into this session from its snapshot (``merge`` without loading) instead of read again;
    a plan this session holds already is returned as is."""
    cache = ctx.shared_reads
    session = ctx.session
    if cache is None or session.identity_map.get(session.identity_key(Plan, plan_id)) is not None:
        return session.get(Plan, plan_id)
    key = ("billing.catalog", "plan", ctx.org_id, plan_id)
    snapshot = cache.get(key)
    if snapshot is None:
        plan = session.get(Plan, plan_id)
        if plan is not None:
            cache[key] = snapshot_row(plan)
        return plan
    merged: Plan = session.merge(snapshot, load=False)
    if ctx.prefetched is not None:
        # The group's jobs share this session, whose identity map holds rows weakly: without a
        # reference kept for the group, each job's plan is collected and merged again.
        ctx.prefetched.memo("billing.catalog.plan_held", plan_id, lambda: merged)
    return merged


def _charge_view(view: ChargeView) -> ChargeView:
    return ChargeView(
        charge=snapshot_row(view.charge),
        metric=snapshot_row(view.metric),
        filters=[snapshot_row(f) for f in view.filters],
        pricing_unit=snapshot_row(view.pricing_unit) if view.pricing_unit is not None else None,
        taxes=[snapshot_row(t) for t in view.taxes],
    )


def _fixed_view(view: FixedChargeView) -> FixedChargeView:
    return FixedChargeView(
        snapshot_row(view.fixed_charge), snapshot_row(view.add_on), [snapshot_row(t) for t in view.taxes]
    )


def plan_charges(ctx: Ctx, plan_id: uuid.UUID) -> list[ChargeView]:
    """:func:`~billow.pricing.plans.lookup.charges_for_plan`, shared within a batch."""
    views = _shared(
        ctx,
        "charges",
        plan_id,
        lambda: charges_for_plan(ctx, plan_id),
        lambda found: [_charge_view(v) for v in found],
    )
    return list(views)


def plan_fixed_charges(ctx: Ctx, plan_id: uuid.UUID) -> list[FixedChargeView]:
    """:func:`~billow.pricing.plans.lookup.fixed_charges_for_plan`, shared within a batch."""
    views = _shared(
        ctx,
        "fixed_charges",
        plan_id,
        lambda: fixed_charges_for_plan(ctx, plan_id),
        lambda found: [_fixed_view(v) for v in found],
    )
    return list(views)


def _commitment(found: tuple[Commitment, list[Tax]] | None) -> tuple[Commitment, list[Tax]] | None:
    if found is None:
        return None
    return snapshot_row(found[0]), [snapshot_row(t) for t in found[1]]


def plan_commitment(ctx: Ctx, plan_id: uuid.UUID) -> tuple[Commitment, list[Tax]] | None:
    """:func:`~billow.pricing.plans.lookup.minimum_commitment`, shared within a batch."""
    found = _shared(ctx, "commitment", plan_id, lambda: minimum_commitment(ctx, plan_id), _commitment)
    return cast(tuple[Commitment, list[Tax]] | None, found)


def plan_unbilled_advance_charges(ctx: Ctx, plan_id: uuid.UUID) -> bool:
    """:func:`~billow.pricing.plans.lookup.has_unbilled_advance_charges`, shared within a batch."""
    return bool(
        _shared(ctx, "unbilled_advance", plan_id, lambda: has_unbilled_advance_charges(ctx, plan_id), bool)
    )


def plan_tax_rates(ctx: Ctx, plan_id: uuid.UUID) -> tuple[TaxRate, ...]:
    """The plan's taxes as rates (immutable values), shared within a batch."""
    return tuple(_shared(ctx, "plan_taxes", plan_id, lambda: tax_rates(plan_taxes(ctx, plan_id)), tuple))


def billing_entity_tax_rates(ctx: Ctx, billing_entity_id: uuid.UUID) -> tuple[TaxRate, ...]:
    """The billing entity's default taxes as rates, shared within a batch."""
    return tuple(
        _shared(
            ctx,
            "entity_taxes",
            billing_entity_id,
            lambda: tax_rates(billing_entity_taxes(ctx, billing_entity_id)),
            tuple,
        )
    )


def metric_aggregation_spec(ctx: Ctx, metric: BillableMetric) -> MetricSpec:
    """:func:`~billow.metering.specs.metric_spec` (the metric with its declared filters), shared
    within a batch (keyed by the metric's id: a snapshot of the metric the batch read)."""
    spec = _shared(ctx, "metric_spec", metric.id, lambda: metric_spec(ctx, metric), copy.deepcopy)
    return cast(MetricSpec, spec)
