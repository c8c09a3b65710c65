"""What other packages read of plans (subscriptions, billing, coupons, metering, add-ons), and
what plans do when a metric or an add-on they use changes (wired as hooks by the runtime).

Every query is scoped by the organization. Views load a plan's charges with their metrics,
filters, pricing units and taxes in a few queries (``views.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billow.core.errors import NotFound
from billow.db.context import Ctx
from billow.metering.models import BillableMetric
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


def has_unbilled_advance_charges(ctx: Ctx, plan_id: uuid.UUID) -> bool:
    """Whether the plan has a live pay-in-advance charge that is not invoiceable (one light query;
    billing skips loading the charge views for renewal fees when there is none)."""
    stmt = select(Charge.id).where(
        Charge.organization_id == ctx.org_id,
        Charge.plan_id == plan_id,
        Charge.deleted_at.is_(None),
        Charge.pay_in_advance.is_(True),
        Charge.invoiceable.is_(False),
    )
    return ctx.session.scalar(stmt.limit(1)) is not None


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


def metric_codes_with_advance_charges(ctx: Ctx, codes: Collection[str]) -> set[str]:
    """The codes among ``codes`` of live metrics charged in advance by a live plan (one query):
    events of these codes may cause pay-in-advance fees (billing's ingestion listener)."""
    if not codes:
        return set()
    stmt = (
        select(BillableMetric.code)
        .join(Charge, Charge.billable_metric_id == BillableMetric.id)
        .join(Plan, Plan.id == Charge.plan_id)
        .where(
            BillableMetric.organization_id == ctx.org_id,
            BillableMetric.code.in_(list(codes)),
            BillableMetric.deleted_at.is_(None),
            Charge.organization_id == ctx.org_id,
            Charge.pay_in_advance.is_(True),
            Charge.deleted_at.is_(None),
            Plan.deleted_at.is_(None),
        )
        .distinct()
    )
    return set(ctx.session.scalars(stmt))


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


def _removed_values(
    before: Mapping[str, Sequence[str]], after: Mapping[str, Sequence[str]]
) -> dict[str, set[str]]:
    """Per filter key of the metric, the values it no longer declares (all of them for a key gone)."""
    removed: dict[str, set[str]] = {}
    for key, values in before.items():
        gone = set(values) - set(after.get(key, ()))
        if gone:
            removed[key] = gone
    return removed


def _trimmed(
    items: list[dict[str, Any]], removed: dict[str, set[str]], after: Mapping[str, Sequence[str]]
) -> list[dict[str, Any]] | None:
    """A charge filter's ``values`` without what the metric dropped; ``None`` when unchanged.

    An entry holding a dropped value keeps its values still declared, or goes when none is left
    (so does the entry of a key the metric dropped). ``__ALL_FILTER_VALUES__`` holds no dropped
    value: it only goes with its key.
    """
    kept: list[dict[str, Any]] = []
    changed = False
    for item in items:
        key, values = item["key"], list(item["values"])
        gone = removed.get(key)
        if gone is None or (key in after and gone.isdisjoint(values)):
            kept.append(item)
            continue
        changed = True
        declared = set(after.get(key, ()))
        remaining = [v for v in values if v in declared]
        if remaining:
            kept.append({"key": key, "values": remaining})
    return kept if changed else None


def trim_charge_filters_of_metric(
    ctx: Ctx, metric_id: uuid.UUID, before: Mapping[str, Sequence[str]], after: Mapping[str, Sequence[str]]
) -> int:
    """A metric's filters changed (Lago's ``BillableMetricFilters::CreateOrUpdateBatchService``):
    the live charge filters of its live charges lose the values the metric dropped; a charge
    filter left with no entry is deleted. Returns how many charge filters changed."""
    removed = _removed_values(before, after)
    if not removed:
        return 0
    charges = select(Charge.id).where(
        Charge.organization_id == ctx.org_id,
        Charge.billable_metric_id == metric_id,
        Charge.deleted_at.is_(None),
    )
    rows = ctx.session.scalars(
        select(ChargeFilter)
        .where(
            ChargeFilter.organization_id == ctx.org_id,
            ChargeFilter.charge_id.in_(charges),
            ChargeFilter.deleted_at.is_(None),
        )
        .order_by(ChargeFilter.created_at, ChargeFilter.id)
    ).all()
    now = ctx.now()
    changed = 0
    for row in rows:
        kept = _trimmed(list(row.values), removed, after)
        if kept is None:
            continue
        if kept:
            row.values = kept
        else:
            row.deleted_at = now
        row.updated_at = now
        changed += 1
    ctx.session.flush()
    return changed
