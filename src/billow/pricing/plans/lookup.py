"""What other packages read of plans (subscriptions, billing, coupons, metering, add-ons).

Every query is scoped by the organization. Views load a plan's charges with their metrics,
filters, pricing units and taxes in a few queries (``views.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billow.core.errors import NotFound
from billow.db.context import Ctx
from billow.pricing.plans.models import Charge, ChargeFilter, Commitment, FixedCharge, Plan, UsageThreshold
from billow.pricing.plans.repository import (
    find_parent_plan,
    live_charges,
    live_fixed_charges,
    live_parent_plans,
    uuid_or_none,
)
from billow.pricing.plans.taxes import owner_taxes
from billow.pricing.plans.views import ChargeView, FixedChargeView, charge_views, fixed_charge_views
from billow.pricing.taxes.models import Tax


def find_plan_by_code(ctx: Ctx, code: str) -> Plan | None:
    """The live parent plan with this code (what ``plan_code`` means in Lago's API)."""
    return find_parent_plan(ctx, code)


def get_plan(ctx: Ctx, plan_id: uuid.UUID | str) -> Plan:
    """A live plan of the organization by id, parent or child (404 ``plan_not_found``)."""
    parsed = plan_id if isinstance(plan_id, uuid.UUID) else uuid_or_none(plan_id)
    plan = (
        ctx.session.scalar(
            select(Plan).where(
                Plan.organization_id == ctx.org_id, Plan.id == parsed, Plan.deleted_at.is_(None)
            )
        )
        if parsed is not None
        else None
    )
    if plan is None:
        raise NotFound("plan")
    return plan


def charges_for_plan(ctx: Ctx, plan_id: uuid.UUID) -> list[ChargeView]:
    """Live charges of a plan (oldest first) with metric, filters, pricing unit and taxes."""
    charges = [c for c in live_charges(ctx.session, [plan_id]) if c.organization_id == ctx.org_id]
    return charge_views(ctx.session, charges)


def fixed_charges_for_plan(ctx: Ctx, plan_id: uuid.UUID) -> list[FixedChargeView]:
    fixed = [f for f in live_fixed_charges(ctx.session, [plan_id]) if f.organization_id == ctx.org_id]
    return fixed_charge_views(ctx.session, fixed)


def applicable_usage_thresholds(ctx: Ctx, plan: Plan) -> list[UsageThreshold]:
    """The parent's thresholds for a child plan (Lago's ``applicable_usage_thresholds``)."""
    owner = plan.parent_id or plan.id
    return list(
        ctx.session.scalars(
            select(UsageThreshold)
            .where(
                UsageThreshold.organization_id == ctx.org_id,
                UsageThreshold.plan_id == owner,
                UsageThreshold.deleted_at.is_(None),
            )
            .order_by(UsageThreshold.created_at, UsageThreshold.id)
        )
    )


def minimum_commitment(ctx: Ctx, plan_id: uuid.UUID) -> tuple[Commitment, list[Tax]] | None:
    commitment = ctx.session.scalar(
        select(Commitment).where(Commitment.organization_id == ctx.org_id, Commitment.plan_id == plan_id)
    )
    if commitment is None:
        return None
    return commitment, owner_taxes(ctx.session, "commitment", commitment.id)


def plan_taxes(ctx: Ctx, plan_id: uuid.UUID) -> list[Tax]:
    return owner_taxes(ctx.session, "plan", plan_id)


def plans_by_codes(ctx: Ctx, codes: Sequence[str]) -> dict[str, Plan]:
    """Live parent plans among ``codes`` (for coupon targets)."""
    wanted = [c for c in dict.fromkeys(codes) if "\x00" not in c]
    if not wanted:
        return {}
    return {p.code: p for p in ctx.session.scalars(live_parent_plans(ctx).where(Plan.code.in_(wanted)))}


def plan_codes_by_ids(session: Session, plan_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Codes of live plans by id (deleted plans are absent)."""
    ids = list(dict.fromkeys(plan_ids))
    if not ids:
        return {}
    rows = session.execute(select(Plan.id, Plan.code).where(Plan.id.in_(ids), Plan.deleted_at.is_(None)))
    return {plan_id: code for plan_id, code in rows}


def metric_attached_to_plans(ctx: Ctx, metric_id: uuid.UUID) -> bool:
    """Whether a live plan has a live charge on the metric (metering's ``attached_to_plan``)."""
    stmt = (
        select(Charge.id)
        .join(Plan, Plan.id == Charge.plan_id)
        .where(
            Charge.organization_id == ctx.org_id,
            Charge.billable_metric_id == metric_id,
            Charge.deleted_at.is_(None),
            Plan.deleted_at.is_(None),
        )
    )
    return ctx.session.scalar(stmt.limit(1)) is not None


def _discard(ctx: Ctx, model: Any, column: Any, owner_id: uuid.UUID) -> list[uuid.UUID]:
    now = ctx.now()
    ids = list(
        ctx.session.scalars(
            select(model.id).where(
                model.organization_id == ctx.org_id, column == owner_id, model.deleted_at.is_(None)
            )
        )
    )
    if ids:
        ctx.session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(deleted_at=now, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
    return ids


def discard_charges_of_metric(ctx: Ctx, metric_id: uuid.UUID) -> int:
    """A deleted metric's charges (and their filters) are deleted too (Lago)."""
    ids = _discard(ctx, Charge, Charge.billable_metric_id, metric_id)
    now = ctx.now()
    if ids:
        ctx.session.execute(
            update(ChargeFilter)
            .where(ChargeFilter.charge_id.in_(ids), ChargeFilter.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )
    ctx.session.flush()
    return len(ids)


def discard_fixed_charges_of_add_on(ctx: Ctx, add_on_id: uuid.UUID) -> int:
    """A deleted add-on's fixed charges are deleted too (Lago)."""
    ids = _discard(ctx, FixedCharge, FixedCharge.add_on_id, add_on_id)
    ctx.session.flush()
    return len(ids)
