"""Queries reused by the plan services: plans, charges, filters, and read-only lookups of the
billable metrics and add-ons charges point to (metering and add-ons have no by-id service)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from billow.core.ids import parse_uuid
from billow.db.context import Ctx
from billow.metering.models import BillableMetric, BillableMetricFilter
from billow.pricing.add_ons.models import AddOn
from billow.pricing.plans.models import Charge, ChargeFilter, FixedCharge, Plan


@dataclass(frozen=True)
class MetricInfo:
    """What charge validation needs of a billable metric: its rules and declared filters."""

    id: uuid.UUID
    code: str
    aggregation_type: str
    recurring: bool
    filters: dict[str, list[str]]


def uuid_or_none(raw: Any) -> uuid.UUID | None:
    return parse_uuid(raw) if isinstance(raw, str) else None


# --------------------------------------------------------------------------- plans


def live_parent_plans(ctx: Ctx) -> Select[Plan]:
    return select(Plan).where(
        Plan.organization_id == ctx.org_id, Plan.deleted_at.is_(None), Plan.parent_id.is_(None)
    )


def find_parent_plan(ctx: Ctx, code: str) -> Plan | None:
    if "\x00" in code:  # PostgreSQL refuses NUL in text: no such code
        return None
    return ctx.session.scalar(live_parent_plans(ctx).where(Plan.code == code))


def plan_code_taken(ctx: Ctx, code: str, exclude: uuid.UUID | None) -> bool:
    stmt = live_parent_plans(ctx).with_only_columns(Plan.id).where(Plan.code == code)
    if exclude is not None:
        stmt = stmt.where(Plan.id != exclude)
    return ctx.session.scalar(stmt.limit(1)) is not None


# --------------------------------------------------------------------------- charges


def live_charges(session: Session, plan_ids: Collection[uuid.UUID]) -> list[Charge]:
    """Live charges of the plans, oldest first."""
    if not plan_ids:
        return []
    return list(
        session.scalars(
            select(Charge)
            .where(Charge.plan_id.in_(list(plan_ids)), Charge.deleted_at.is_(None))
            .order_by(Charge.created_at, Charge.id)
        )
    )


def find_parent_charge(ctx: Ctx, plan: Plan, code: str) -> Charge | None:
    if "\x00" in code:
        return None
    return ctx.session.scalar(
        select(Charge).where(
            Charge.organization_id == ctx.org_id,
            Charge.plan_id == plan.id,
            Charge.code == code,
            Charge.parent_id.is_(None),
            Charge.deleted_at.is_(None),
        )
    )


def _parent_codes(session: Session, model: type[Charge] | type[FixedCharge], plan_id: uuid.UUID) -> set[str]:
    return set(
        session.scalars(
            select(model.code).where(
                model.plan_id == plan_id, model.parent_id.is_(None), model.deleted_at.is_(None)
            )
        )
    )


def charge_code_taken(ctx: Ctx, plan_id: uuid.UUID, code: str, exclude: uuid.UUID | None) -> bool:
    stmt = select(Charge.id).where(
        Charge.organization_id == ctx.org_id,
        Charge.plan_id == plan_id,
        Charge.code == code,
        Charge.parent_id.is_(None),
        Charge.deleted_at.is_(None),
    )
    if exclude is not None:
        stmt = stmt.where(Charge.id != exclude)
    return ctx.session.scalar(stmt.limit(1)) is not None


def fixed_charge_code_taken(ctx: Ctx, plan_id: uuid.UUID, code: str, exclude: uuid.UUID | None) -> bool:
    stmt = select(FixedCharge.id).where(
        FixedCharge.organization_id == ctx.org_id,
        FixedCharge.plan_id == plan_id,
        FixedCharge.code == code,
        FixedCharge.parent_id.is_(None),
        FixedCharge.deleted_at.is_(None),
    )
    if exclude is not None:
        stmt = stmt.where(FixedCharge.id != exclude)
    return ctx.session.scalar(stmt.limit(1)) is not None


def next_code(taken: set[str], base: str) -> str:
    """Lago's generated codes: ``base``, else ``base_N`` after the highest ``base_<digits>``."""
    if base not in taken:
        return base
    pattern = re.compile(re.escape(base) + r"_(\d+)")
    suffixes = [int(m.group(1)) for code in taken if (m := pattern.fullmatch(code))]
    return f"{base}_{max(suffixes, default=1) + 1}"


def generate_charge_code(ctx: Ctx, plan_id: uuid.UUID, base: str) -> str:
    return next_code(_parent_codes(ctx.session, Charge, plan_id), base)


def generate_fixed_charge_code(ctx: Ctx, plan_id: uuid.UUID, base: str) -> str:
    return next_code(_parent_codes(ctx.session, FixedCharge, plan_id), base)


def live_filters(session: Session, charge_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ChargeFilter]]:
    """Live filters of each charge, oldest first (one query)."""
    ids = list(dict.fromkeys(charge_ids))
    grouped: dict[uuid.UUID, list[ChargeFilter]] = {i: [] for i in ids}
    if not ids:
        return grouped
    rows = session.scalars(
        select(ChargeFilter)
        .where(ChargeFilter.charge_id.in_(ids), ChargeFilter.deleted_at.is_(None))
        .order_by(ChargeFilter.created_at, ChargeFilter.id)
    )
    for row in rows:
        grouped[row.charge_id].append(row)
    return grouped


def live_fixed_charges(session: Session, plan_ids: Collection[uuid.UUID]) -> list[FixedCharge]:
    if not plan_ids:
        return []
    return list(
        session.scalars(
            select(FixedCharge)
            .where(FixedCharge.plan_id.in_(list(plan_ids)), FixedCharge.deleted_at.is_(None))
            .order_by(FixedCharge.created_at, FixedCharge.id)
        )
    )


def find_parent_fixed_charge(ctx: Ctx, plan: Plan, code: str) -> FixedCharge | None:
    if "\x00" in code:
        return None
    return ctx.session.scalar(
        select(FixedCharge).where(
            FixedCharge.organization_id == ctx.org_id,
            FixedCharge.plan_id == plan.id,
            FixedCharge.code == code,
            FixedCharge.parent_id.is_(None),
            FixedCharge.deleted_at.is_(None),
        )
    )


# --------------------------------------------------------------------------- metrics and add-ons


def metrics_by_id(ctx: Ctx, raw_ids: Iterable[Any]) -> dict[str, MetricInfo]:
    """Live metrics of the organization among ``raw_ids`` (request strings), with their declared
    filters, keyed by the id string as sent (two queries). Unknown or malformed ids are absent."""
    parsed = {raw: uid for raw in raw_ids if (uid := uuid_or_none(raw)) is not None}
    if not parsed:
        return {}
    rows = ctx.session.scalars(
        select(BillableMetric).where(
            BillableMetric.organization_id == ctx.org_id,
            BillableMetric.deleted_at.is_(None),
            BillableMetric.id.in_(set(parsed.values())),
        )
    ).all()
    filters: dict[uuid.UUID, dict[str, list[str]]] = {m.id: {} for m in rows}
    if rows:
        for f in ctx.session.scalars(
            select(BillableMetricFilter).where(BillableMetricFilter.billable_metric_id.in_(list(filters)))
        ):
            filters[f.billable_metric_id][f.key] = list(f.values)
    by_id = {
        m.id: MetricInfo(m.id, m.code, m.aggregation_type, bool(m.recurring), filters[m.id]) for m in rows
    }
    return {raw: by_id[uid] for raw, uid in parsed.items() if uid in by_id}


def metric_info(ctx: Ctx, metric_id: uuid.UUID) -> MetricInfo | None:
    """A metric as a charge on it sees it, deleted or not (a charge outlives its metric's delete)."""
    metric = ctx.session.scalar(
        select(BillableMetric).where(
            BillableMetric.organization_id == ctx.org_id, BillableMetric.id == metric_id
        )
    )
    if metric is None:
        return None
    filters = {
        f.key: list(f.values)
        for f in ctx.session.scalars(
            select(BillableMetricFilter).where(BillableMetricFilter.billable_metric_id == metric.id)
        )
    }
    return MetricInfo(metric.id, metric.code, metric.aggregation_type, bool(metric.recurring), filters)


def metrics_by_ids(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, BillableMetric]:
    """Metric rows (deleted ones too) for serializing and billing charges."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    return {m.id: m for m in session.scalars(select(BillableMetric).where(BillableMetric.id.in_(wanted)))}


def live_add_ons(ctx: Ctx, *, ids: Iterable[uuid.UUID] = (), codes: Iterable[str] = ()) -> list[AddOn]:
    id_list, code_list = list(ids), [c for c in codes if "\x00" not in c]
    if not id_list and not code_list:
        return []
    stmt = select(AddOn).where(AddOn.organization_id == ctx.org_id, AddOn.deleted_at.is_(None))
    stmt = stmt.where(AddOn.id.in_(id_list)) if id_list else stmt.where(AddOn.code.in_(code_list))
    return list(ctx.session.scalars(stmt))


def add_ons_by_ids(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, AddOn]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    return {a.id: a for a in session.scalars(select(AddOn).where(AddOn.id.in_(wanted)))}
