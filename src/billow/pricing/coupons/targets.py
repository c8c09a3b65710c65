"""What a coupon is limited to (``applies_to``): plans or billable metrics.

Billable metric codes resolve to live metrics of the organization (404
``billable_metrics_not_found`` for any unknown), plan codes to live parent plans (404
``plans_not_found``). Targets key plans by ``plan_id`` (as Lago) and list their current codes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billow.core.errors import MethodNotAllowed, NotFound
from billow.db.context import Ctx
from billow.metering.models import BillableMetric
from billow.pricing import casting
from billow.pricing.coupons.models import Coupon, CouponTarget
from billow.pricing.plans.lookup import plan_codes_by_ids, plans_by_codes


@dataclass
class Limitations:
    """``applies_to`` as sent: ``None`` for a list that was not sent."""

    plan_codes: list[str] | None = None
    billable_metric_codes: list[str] | None = None
    metric_ids: dict[str, uuid.UUID] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetCodes:
    plan_codes: list[str]
    billable_metric_codes: list[str]


def read_limitations(raw: Any) -> Limitations:
    if not isinstance(raw, dict):
        return Limitations()
    return Limitations(
        plan_codes=casting.string_list(raw.get("plan_codes")),
        billable_metric_codes=casting.string_list(raw.get("billable_metric_codes")),
    )


def missing_plan_codes(ctx: Ctx, codes: Sequence[str]) -> list[str]:
    """The codes that name no live parent plan of the organization."""
    found = plans_by_codes(ctx, codes)
    return [c for c in codes if c not in found]


def resolve(ctx: Ctx, limits: Limitations) -> None:
    """Lago's checks, in order: unknown plans (404), unknown metrics (404), both kinds (405)."""
    if limits.plan_codes and missing_plan_codes(ctx, limits.plan_codes):
        raise NotFound("plans")
    codes = limits.billable_metric_codes
    if codes:
        rows = ctx.session.execute(
            select(BillableMetric.code, BillableMetric.id).where(
                BillableMetric.organization_id == ctx.org_id,
                BillableMetric.code.in_(codes),
                BillableMetric.deleted_at.is_(None),
            )
        ).all()
        limits.metric_ids = {code: metric_id for code, metric_id in rows}
        if len(limits.metric_ids) != len(codes):
            raise NotFound("billable_metrics")
    if limits.plan_codes and limits.billable_metric_codes:
        raise MethodNotAllowed("only_one_limitation_type_per_coupon_allowed")


def _live_targets(session: Session, coupon_id: uuid.UUID) -> list[CouponTarget]:
    return list(
        session.scalars(
            select(CouponTarget)
            .where(CouponTarget.coupon_id == coupon_id, CouponTarget.deleted_at.is_(None))
            .order_by(CouponTarget.created_at, CouponTarget.id)
        )
    )


def target_kinds(session: Session, coupon: Coupon) -> tuple[bool, bool]:
    """Whether the coupon has live plan targets, and live billable metric targets."""
    targets = _live_targets(session, coupon.id)
    return (
        any(t.plan_code is not None for t in targets),
        any(t.billable_metric_id is not None for t in targets),
    )


def replace_plan_targets(ctx: Ctx, coupon: Coupon, codes: Sequence[str]) -> None:
    plans = plans_by_codes(ctx, codes)
    _replace(ctx, coupon, "plan_code", list(codes), {c: {"plan_id": p.id} for c, p in plans.items()})


def replace_metric_targets(ctx: Ctx, coupon: Coupon, metric_ids: Sequence[uuid.UUID]) -> None:
    _replace(ctx, coupon, "billable_metric_id", list(metric_ids))


def _replace(
    ctx: Ctx, coupon: Coupon, column: str, wanted: list[Any], extra: dict[Any, dict[str, Any]] | None = None
) -> None:
    """Keep the targets still wanted, soft-delete the others, add the new ones in order."""
    now = ctx.now()
    current = [t for t in _live_targets(ctx.session, coupon.id) if getattr(t, column) is not None]
    kept = set()
    for target in current:
        if getattr(target, column) in wanted:
            kept.add(getattr(target, column))
        else:
            target.deleted_at = now
            target.updated_at = now
    for value in wanted:
        if value not in kept:
            ctx.session.add(
                CouponTarget(
                    organization_id=ctx.org_id,
                    coupon_id=coupon.id,
                    created_at=now,
                    updated_at=now,
                    **{column: value, **(extra or {}).get(value, {})},
                )
            )
    ctx.session.flush()


def delete_targets(ctx: Ctx, coupon: Coupon) -> None:
    now = ctx.now()
    ctx.session.execute(
        update(CouponTarget)
        .where(
            CouponTarget.organization_id == ctx.org_id,
            CouponTarget.coupon_id == coupon.id,
            CouponTarget.deleted_at.is_(None),
        )
        .values(deleted_at=now, updated_at=now)
    )


def codes_by_coupon(session: Session, coupon_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, TargetCodes]:
    """Plan codes and live billable metric codes of each coupon's live targets (one query)."""
    ids = list(coupon_ids)
    plans: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    metrics: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(
            select(CouponTarget.coupon_id, CouponTarget.plan_id, CouponTarget.plan_code, BillableMetric.code)
            .outerjoin(
                BillableMetric,
                (BillableMetric.id == CouponTarget.billable_metric_id) & BillableMetric.deleted_at.is_(None),
            )
            .where(CouponTarget.coupon_id.in_(ids), CouponTarget.deleted_at.is_(None))
            .order_by(CouponTarget.created_at, CouponTarget.id)
        ).all()
        live_codes = plan_codes_by_ids(session, [r[1] for r in rows if r[1] is not None])
        for coupon_id, plan_id, plan_code, metric_code in rows:
            if plan_id is not None:
                if plan_id in live_codes:
                    plans[coupon_id].append(live_codes[plan_id])
            elif plan_code is not None:
                plans[coupon_id].append(plan_code)
            elif metric_code is not None:
                metrics[coupon_id].append(metric_code)
    return {i: TargetCodes(plans[i], metrics[i]) for i in ids}
