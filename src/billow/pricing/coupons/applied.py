"""Coupons applied to customers: apply, list, terminate.

Applying follows Lago's ``AppliedCoupons::CreateService`` under a lock on the customer row:
unknown customer → 404 ``customer_not_found``; unknown, deleted, terminated or expired coupon →
404 ``coupon_not_found``; a limited coupon overlapping another active limited one of the
customer → 405 ``plan_overlapping``; a non-reusable coupon already applied once (even if since
terminated) → 422 ``coupon: [coupon_is_not_reusable]``; then the applied coupon's own rules (422).
A fixed-amount coupon sets the customer's currency when it has none. As in current Lago (multi-
currency customers), a different customer currency is not an error: invoicing skips the coupon.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from billow.core.errors import MethodNotAllowed, NotFound, ValidationFailed
from billow.core.ids import parse_uuid
from billow.core.pagination import PageParams
from billow.customers.models import Customer
from billow.customers.service import find_customer
from billow.db.context import Ctx
from billow.pricing import casting
from billow.pricing.casting import Invalid
from billow.pricing.coupons.models import STATUSES, AppliedCoupon, Coupon, CouponTarget
from billow.pricing.coupons.schemas import AppliedCouponInput
from billow.pricing.coupons.service import find_coupon, is_applicable
from billow.pricing.coupons.validation import applied_terms, check_applied_terms


@dataclass(frozen=True)
class AppliedCouponView:
    """An applied coupon with what its payload shows of the coupon and the customer."""

    applied: AppliedCoupon
    coupon: Coupon
    external_customer_id: str


@dataclass(frozen=True)
class AppliedCouponFilters:
    external_customer_id: str | None = None
    status: str | None = None
    coupon_codes: Sequence[str] = ()


def _overlapping(ctx: Ctx, customer: Customer, coupon: Coupon) -> bool:
    """Another active applied coupon of the customer is limited to one of this coupon's plans or
    billable metrics. Hook: once plans and charges exist, a plan of one and a metric charged in
    that plan by the other overlap too (Lago's plan ↔ metric check through charges)."""
    if not coupon.limited_plans and not coupon.limited_billable_metrics:
        return False
    mine = select(CouponTarget.plan_code, CouponTarget.billable_metric_id).where(
        CouponTarget.coupon_id == coupon.id, CouponTarget.deleted_at.is_(None)
    )
    own = ctx.session.execute(mine).all()
    plan_codes = [p for p, _ in own if p is not None]
    metric_ids = [m for _, m in own if m is not None]
    if not plan_codes and not metric_ids:
        return False
    other = aliased(CouponTarget)
    stmt = (
        select(AppliedCoupon.id)
        .join(other, other.coupon_id == AppliedCoupon.coupon_id)
        .where(
            AppliedCoupon.organization_id == ctx.org_id,
            AppliedCoupon.customer_id == customer.id,
            AppliedCoupon.status == "active",
            other.deleted_at.is_(None),
            other.plan_code.in_(plan_codes) | other.billable_metric_id.in_(metric_ids),
        )
        .limit(1)
    )
    return ctx.session.scalar(stmt) is not None


def _already_applied(ctx: Ctx, customer: Customer, coupon: Coupon) -> bool:
    stmt = select(AppliedCoupon.id).where(
        AppliedCoupon.organization_id == ctx.org_id,
        AppliedCoupon.customer_id == customer.id,
        AppliedCoupon.coupon_id == coupon.id,
    )
    return ctx.session.scalar(stmt.limit(1)) is not None


def apply_coupon(ctx: Ctx, data: AppliedCouponInput) -> AppliedCouponView:
    customer = _live_customer(ctx, casting.text(data.external_customer_id), for_update=True)
    code = casting.text(data.coupon_code)
    coupon = find_coupon(ctx, code) if code else None
    now = ctx.now()
    if coupon is None or not is_applicable(coupon, now):
        raise NotFound("coupon")
    if _overlapping(ctx, customer, coupon):
        raise MethodNotAllowed("plan_overlapping")
    if not coupon.reusable and _already_applied(ctx, customer, coupon):
        raise ValidationFailed.field("coupon", "coupon_is_not_reusable")
    terms = applied_terms(data, coupon)
    check_applied_terms(terms).raise_if_any()
    assert not isinstance(terms.amount_cents, Invalid) and not isinstance(terms.percentage_rate, Invalid)
    assert isinstance(terms.frequency, str) and not isinstance(terms.frequency_duration, Invalid)
    if coupon.coupon_type == "fixed_amount" and customer.currency is None and terms.amount_currency:
        # Lago's Customers::UpdateCurrencyService (no webhook). Hook: move into customers.service.
        customer.currency = terms.amount_currency
        customer.updated_at = now
    applied = AppliedCoupon(
        organization_id=ctx.org_id,
        coupon_id=coupon.id,
        customer_id=customer.id,
        amount_cents=terms.amount_cents,
        amount_currency=terms.amount_currency,
        percentage_rate=terms.percentage_rate,
        frequency=terms.frequency,
        frequency_duration=terms.frequency_duration,
        frequency_duration_remaining=terms.frequency_duration,
        status="active",
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(applied)
    ctx.session.flush()
    return AppliedCouponView(applied, coupon, customer.external_id)


def _base(ctx: Ctx) -> Select[AppliedCoupon, Coupon, str]:
    """Applied coupons of live customers, with their coupon (deleted coupons included)."""
    return (
        select(AppliedCoupon, Coupon, Customer.external_id)
        .join(Coupon, Coupon.id == AppliedCoupon.coupon_id)
        .join(Customer, Customer.id == AppliedCoupon.customer_id)
        .where(
            AppliedCoupon.organization_id == ctx.org_id,
            Customer.organization_id == ctx.org_id,
            Customer.deleted_at.is_(None),
        )
    )


def list_applied_coupons(
    ctx: Ctx, page: PageParams, filters: AppliedCouponFilters
) -> tuple[list[AppliedCouponView], int]:
    """Newest first. An unknown ``status`` is ignored, as in Lago."""
    if "\x00" in (filters.external_customer_id or ""):
        return [], 0
    stmt = _base(ctx)
    if filters.external_customer_id is not None:
        stmt = stmt.where(Customer.external_id == filters.external_customer_id)
    if filters.coupon_codes:
        stmt = stmt.where(Coupon.code.in_([c for c in filters.coupon_codes if "\x00" not in c]))
    if filters.status in STATUSES:
        stmt = stmt.where(AppliedCoupon.status == filters.status)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = ctx.session.execute(
        stmt.order_by(AppliedCoupon.created_at.desc(), AppliedCoupon.id)
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return [AppliedCouponView(a, c, e) for a, c, e in rows], total


def _live_customer(ctx: Ctx, external_id: str | None, *, for_update: bool = False) -> Customer:
    """The organization's live customer, else 404 ``customer_not_found``."""
    customer = None
    if external_id and "\x00" not in external_id:
        customer = find_customer(ctx, external_id, for_update=for_update)
    if customer is None:
        raise NotFound("customer")
    return customer


def get_customer_external_id(ctx: Ctx, external_customer_id: str) -> str:
    return _live_customer(ctx, external_customer_id).external_id


def terminate_applied_coupon(
    ctx: Ctx, external_customer_id: str, applied_coupon_id: str
) -> AppliedCouponView:
    """``DELETE /customers/{id}/applied_coupons/{id}``: terminate (idempotent)."""
    customer = _live_customer(ctx, external_customer_id)
    parsed = parse_uuid(applied_coupon_id)
    row = None
    if parsed is not None:
        row = ctx.session.execute(
            _base(ctx).where(AppliedCoupon.id == parsed, AppliedCoupon.customer_id == customer.id)
        ).first()
    if row is None:
        raise NotFound("applied_coupon")
    applied, coupon, external_id = row
    if applied.status != "terminated":
        now = ctx.now()
        applied.status = "terminated"
        applied.terminated_at = applied.terminated_at or now
        applied.updated_at = now
        ctx.session.flush()
    return AppliedCouponView(applied, coupon, external_id)


def customer_has_applied_coupons(ctx: Ctx, customer_id: uuid.UUID) -> bool:
    """For ``customers.service.currency_locked``: any coupon ever applied to the customer."""
    stmt = select(AppliedCoupon.id).where(
        AppliedCoupon.organization_id == ctx.org_id, AppliedCoupon.customer_id == customer_id
    )
    return ctx.session.scalar(stmt.limit(1)) is not None


def customer_has_currency_coupons(ctx: Ctx, customer_id: uuid.UUID) -> bool:
    """For ``CustomerHooks.currency_holders``: a coupon with an amount currency (fixed amount) was
    ever applied to the customer. Lago's ``Customer#editable?`` counts only these: a percentage
    coupon does not fix the customer's currency."""
    stmt = select(AppliedCoupon.id).where(
        AppliedCoupon.organization_id == ctx.org_id,
        AppliedCoupon.customer_id == customer_id,
        AppliedCoupon.amount_currency.is_not(None),
    )
    return ctx.session.scalar(stmt.limit(1)) is not None


def terminate_customer_coupons(ctx: Ctx, customer_id: uuid.UUID) -> None:
    """For ``CustomerHooks.on_delete`` (customer deletion): terminate the customer's active coupons
    (no webhook, as in Lago)."""
    now = ctx.now()
    rows = ctx.session.scalars(
        select(AppliedCoupon).where(
            AppliedCoupon.organization_id == ctx.org_id,
            AppliedCoupon.customer_id == customer_id,
            AppliedCoupon.status == "active",
        )
    )
    for applied in rows:
        applied.status = "terminated"
        applied.terminated_at = now
        applied.updated_at = now
    ctx.session.flush()
