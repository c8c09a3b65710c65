"""The applied coupons an invoice consumes, and their lifecycle (billing.md §6.1, §4.9).

Billing calls these services; it never writes the coupon tables itself.

* :func:`lock_invoiceable_coupons` — the customer's active applied coupons, each with what it is
  limited to, locked (``SELECT … FOR UPDATE`` on PostgreSQL, rows in a fixed order) until the
  invoice's transaction ends: two invoices finalized at once for one customer take turns, and
  the second sees what the first consumed (its statement re-reads the committed rows). SQLite
  serializes writers already.
* :func:`record_coupon_use` — an invoice used the coupon: recurring coupons lose one period,
  a used-up coupon is terminated.
* :func:`restore_coupon_use` — the invoice was voided (Lago's ``AppliedCoupons::RecreditService``):
  a coupon terminated by its use is active again (unless it is ``forever``, or its coupon was
  terminated or deleted since), a recurring coupon gets its period back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select

from billow.db.context import Ctx
from billow.db.one_of import one_of
from billow.pricing.coupons.models import AppliedCoupon, Coupon, CouponTarget


@dataclass(frozen=True)
class InvoiceableCoupon:
    """An active applied coupon, its coupon and its live targets (``plan_ids`` are parent plans,
    as coupon targets key them)."""

    applied: AppliedCoupon
    coupon: Coupon
    plan_ids: frozenset[uuid.UUID]
    billable_metric_ids: frozenset[uuid.UUID]

    @property
    def limited(self) -> bool:
        return self.coupon.limited_plans or self.coupon.limited_billable_metrics

    @property
    def has_targets(self) -> bool:
        return bool(self.plan_ids or self.billable_metric_ids)


def _active_where(org: Any, customer: Any) -> tuple[ColumnElement[bool], ...]:
    return (
        AppliedCoupon.organization_id == org,
        AppliedCoupon.customer_id == customer,
        AppliedCoupon.status == "active",
    )


# Built once (asked for every invoice; building a statement costs more than running it): the
# values are bound.
_ACTIVE = (
    select(AppliedCoupon)
    .where(*_active_where(bindparam("org"), bindparam("customer")))
    .order_by(AppliedCoupon.created_at, AppliedCoupon.id)
    .execution_options(populate_existing=True)
)
_ACTIVE_LOCKED = _ACTIVE.with_for_update()


def active_coupons_exist(ctx: Ctx, customer_id: uuid.UUID) -> ColumnElement[bool]:
    """``EXISTS``: the customer has an active applied coupon (what :func:`lock_invoiceable_coupons`
    reads), for a presence probe; nothing is locked."""
    return select(AppliedCoupon.id).where(*_active_where(ctx.org_id, customer_id)).exists()


def customers_with_active_coupons(ctx: Ctx, customer_ids: Sequence[uuid.UUID]) -> Select[Any]:
    """The ones of ``customer_ids`` with an active applied coupon (as :func:`active_coupons_exist`)."""
    return select(AppliedCoupon.customer_id).where(
        AppliedCoupon.organization_id == ctx.org_id,
        one_of(AppliedCoupon.customer_id, customer_ids),
        AppliedCoupon.status == "active",
    )


def lock_invoiceable_coupons(ctx: Ctx, customer_id: uuid.UUID) -> list[InvoiceableCoupon]:
    """The customer's active applied coupons, oldest first, locked for the transaction."""
    stmt = _ACTIVE_LOCKED if ctx.dialect == "postgresql" else _ACTIVE
    applied = list(ctx.session.scalars(stmt, {"org": ctx.org_id, "customer": customer_id}))
    if not applied:
        return []
    coupon_ids = {a.coupon_id for a in applied}
    coupons = {c.id: c for c in ctx.session.scalars(select(Coupon).where(Coupon.id.in_(coupon_ids)))}
    plans: dict[uuid.UUID, set[uuid.UUID]] = {i: set() for i in coupon_ids}
    metrics: dict[uuid.UUID, set[uuid.UUID]] = {i: set() for i in coupon_ids}
    rows = ctx.session.execute(
        select(CouponTarget.coupon_id, CouponTarget.plan_id, CouponTarget.billable_metric_id).where(
            CouponTarget.coupon_id.in_(coupon_ids), CouponTarget.deleted_at.is_(None)
        )
    )
    for coupon_id, plan_id, metric_id in rows:
        if plan_id is not None:
            plans[coupon_id].add(plan_id)
        if metric_id is not None:
            metrics[coupon_id].add(metric_id)
    return [
        InvoiceableCoupon(
            applied=a,
            coupon=coupons[a.coupon_id],
            plan_ids=frozenset(plans[a.coupon_id]),
            billable_metric_ids=frozenset(metrics[a.coupon_id]),
        )
        for a in applied
    ]


def record_coupon_use(
    ctx: Ctx, applied_coupon_id: uuid.UUID, *, frequency_duration_remaining: int | None, terminated: bool
) -> None:
    """An invoice used the applied coupon (locked by :func:`lock_invoiceable_coupons` in this
    transaction)."""
    applied = ctx.session.get(AppliedCoupon, applied_coupon_id)
    if applied is None or applied.organization_id != ctx.org_id:
        raise LookupError(f"applied coupon {applied_coupon_id} not found")
    now = ctx.now()
    if applied.frequency == "recurring":
        applied.frequency_duration_remaining = frequency_duration_remaining
    if terminated and applied.status != "terminated":
        applied.status = "terminated"
        applied.terminated_at = now
    applied.updated_at = now


def restore_coupon_use(ctx: Ctx, applied_coupon_ids: Iterable[uuid.UUID]) -> None:
    """A voided invoice gives back what it took of each applied coupon (one call per credit)."""
    ids = list(applied_coupon_ids)
    if not ids:
        return
    stmt = (
        select(AppliedCoupon, Coupon)
        .join(Coupon, Coupon.id == AppliedCoupon.coupon_id)
        .where(AppliedCoupon.organization_id == ctx.org_id, AppliedCoupon.id.in_(set(ids)))
        .order_by(AppliedCoupon.id)
        .execution_options(populate_existing=True)
    )
    if ctx.dialect == "postgresql":
        stmt = stmt.with_for_update(of=AppliedCoupon)
    found = {a.id: (a, c) for a, c in ctx.session.execute(stmt)}
    now = ctx.now()
    for applied_id in ids:
        if applied_id not in found:
            continue
        applied, coupon = found[applied_id]
        reusable = coupon.status != "terminated" and coupon.deleted_at is None
        if applied.status == "terminated" and applied.frequency != "forever" and reusable:
            applied.status = "active"
            applied.terminated_at = None
        if applied.frequency == "recurring":
            applied.frequency_duration_remaining = (applied.frequency_duration_remaining or 0) + 1
        applied.updated_at = now
    ctx.session.flush()
