"""``/plans/{code}/charges``, ``/plans/{code}/charges/{charge_code}/filters`` and
``/plans/{code}/fixed_charges``: a plan's parts one by one.

As in Lago these writes send no ``plan.*`` webhook; ``cascade_updates`` (in the root object)
carries a charge / fixed charge creation, update or deletion to the plan's children.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from billow.core.errors import NotFound
from billow.core.ids import parse_uuid
from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.plans import cascade
from billow.pricing.plans.charges import create_charge, delete_charge, update_charge
from billow.pricing.plans.filters import create_filter, delete_filter, update_filter
from billow.pricing.plans.fixed_charges import create_fixed_charge, delete_fixed_charge, update_fixed_charge
from billow.pricing.plans.inputs import Raw
from billow.pricing.plans.models import Charge, ChargeFilter, FixedCharge, Plan
from billow.pricing.plans.repository import (
    MetricInfo,
    find_parent_charge,
    find_parent_fixed_charge,
    metric_info,
)
from billow.pricing.plans.service import get_plan_by_code


def _cascading(ctx: Ctx, plan: Plan, raw: Raw | None) -> bool:
    return bool(raw and casting.boolean(raw.get("cascade_updates"))) and cascade.has_children(ctx, plan)


def get_charge(ctx: Ctx, plan: Plan, code: str) -> Charge:
    charge = find_parent_charge(ctx, plan, code)
    if charge is None:
        raise NotFound("charge")
    return charge


def list_charges(ctx: Ctx, plan: Plan, page: PageParams) -> tuple[list[Charge], int]:
    """The plan's charges, newest first (Lago)."""
    base = select(Charge).where(
        Charge.organization_id == ctx.org_id,
        Charge.plan_id == plan.id,
        Charge.parent_id.is_(None),
        Charge.deleted_at.is_(None),
    )
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(Charge.created_at.desc(), Charge.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total


def add_charge(ctx: Ctx, plan_code: str, raw: Raw) -> Charge:
    plan = get_plan_by_code(ctx, plan_code)
    charge = create_charge(ctx, plan, raw)
    if _cascading(ctx, plan, raw):
        cascade.charge_created(ctx, plan, charge, raw)
    return charge


def change_charge(ctx: Ctx, plan_code: str, code: str, raw: Raw) -> Charge:
    plan = get_plan_by_code(ctx, plan_code)
    charge = get_charge(ctx, plan, code)
    before = cascade.charge_snapshot(charge)
    update_charge(ctx, charge, raw)
    if _cascading(ctx, plan, raw):
        cascade.charge_updated(ctx, charge, before)
    return charge


def remove_charge(ctx: Ctx, plan_code: str, code: str, raw: Raw | None) -> Charge:
    plan = get_plan_by_code(ctx, plan_code)
    charge = get_charge(ctx, plan, code)
    delete_charge(ctx, charge)
    if _cascading(ctx, plan, raw):
        cascade.charge_deleted(ctx, charge)
    return charge


# --------------------------------------------------------------------------- filters


def charge_of(ctx: Ctx, plan_code: str, charge_code: str) -> tuple[Charge, MetricInfo]:
    plan = get_plan_by_code(ctx, plan_code)
    charge = get_charge(ctx, plan, charge_code)
    metric = metric_info(ctx, charge.billable_metric_id)
    assert metric is not None
    return charge, metric


def get_filter(ctx: Ctx, charge: Charge, filter_id: str) -> ChargeFilter:
    parsed = parse_uuid(filter_id)
    row = (
        ctx.session.scalar(
            select(ChargeFilter).where(
                ChargeFilter.organization_id == ctx.org_id,
                ChargeFilter.id == parsed,
                ChargeFilter.charge_id == charge.id,
                ChargeFilter.deleted_at.is_(None),
            )
        )
        if parsed is not None
        else None
    )
    if row is None:
        raise NotFound("charge_filter")
    return row


def list_filters(ctx: Ctx, charge: Charge, page: PageParams) -> tuple[list[ChargeFilter], int]:
    base = select(ChargeFilter).where(
        ChargeFilter.organization_id == ctx.org_id,
        ChargeFilter.charge_id == charge.id,
        ChargeFilter.deleted_at.is_(None),
    )
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(ChargeFilter.created_at, ChargeFilter.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total


def add_filter(ctx: Ctx, plan_code: str, charge_code: str, raw: Raw) -> tuple[Charge, ChargeFilter]:
    charge, metric = charge_of(ctx, plan_code, charge_code)
    return charge, create_filter(ctx, charge, metric, raw)


def change_filter(
    ctx: Ctx, plan_code: str, charge_code: str, filter_id: str, raw: Raw
) -> tuple[Charge, ChargeFilter]:
    charge, metric = charge_of(ctx, plan_code, charge_code)
    row = get_filter(ctx, charge, filter_id)
    return charge, update_filter(ctx, row, charge, metric, raw)


def remove_filter(ctx: Ctx, plan_code: str, charge_code: str, filter_id: str) -> tuple[Charge, ChargeFilter]:
    charge, _ = charge_of(ctx, plan_code, charge_code)
    return charge, delete_filter(ctx, get_filter(ctx, charge, filter_id))


# --------------------------------------------------------------------------- fixed charges


def get_fixed_charge(ctx: Ctx, plan: Plan, code: str) -> FixedCharge:
    fixed = find_parent_fixed_charge(ctx, plan, code)
    if fixed is None:
        raise NotFound("fixed_charge")
    return fixed


def list_fixed_charges(ctx: Ctx, plan: Plan, page: PageParams) -> tuple[list[FixedCharge], int]:
    base = select(FixedCharge).where(
        FixedCharge.organization_id == ctx.org_id,
        FixedCharge.plan_id == plan.id,
        FixedCharge.parent_id.is_(None),
        FixedCharge.deleted_at.is_(None),
    )
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(FixedCharge.created_at.desc(), FixedCharge.id).offset(page.offset).limit(page.per_page)
    ).all()
    return list(items), total


def add_fixed_charge(ctx: Ctx, plan_code: str, raw: Raw) -> FixedCharge:
    plan = get_plan_by_code(ctx, plan_code)
    fixed = create_fixed_charge(ctx, plan, raw)
    if _cascading(ctx, plan, raw):
        cascade.fixed_charge_created(ctx, plan, fixed, raw)
    return fixed


def change_fixed_charge(ctx: Ctx, plan_code: str, code: str, raw: Raw) -> FixedCharge:
    plan = get_plan_by_code(ctx, plan_code)
    fixed = get_fixed_charge(ctx, plan, code)
    before = cascade.fixed_charge_snapshot(fixed)
    update_fixed_charge(ctx, fixed, raw)
    if _cascading(ctx, plan, raw):
        cascade.fixed_charge_updated(ctx, fixed, before)
    return fixed


def remove_fixed_charge(ctx: Ctx, plan_code: str, code: str, raw: Raw | None) -> FixedCharge:
    plan = get_plan_by_code(ctx, plan_code)
    fixed = get_fixed_charge(ctx, plan, code)
    delete_fixed_charge(ctx, fixed)
    if _cascading(ctx, plan, raw):
        cascade.fixed_charge_deleted(ctx, fixed)
    return fixed


def root_object(data: Any, root: str) -> dict[str, Any] | None:
    """The optional root object of a DELETE body (``{"charge": {"cascade_updates": true}}``)."""
    if isinstance(data, dict) and isinstance(data.get(root), dict):
        return dict(data[root])
    return None
