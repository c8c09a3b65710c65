"""Coupons: create, read, update, delete (by code), expiry.

Checks run in Lago's order and before the first write, so a refused input stores nothing:
``expiration_at`` (422 ``invalid_date``, alone), unknown plans / billable metrics (404), both
kinds of limitation (405), then the model's rules (422, all fields at once).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError

from billow.core.errors import NotFound, ValidationFailed
from billow.core.pagination import PageParams
from billow.db.context import Ctx
from billow.pricing.casting import Invalid
from billow.pricing.coupons import targets
from billow.pricing.coupons.models import AppliedCoupon, Coupon
from billow.pricing.coupons.schemas import CouponInput
from billow.pricing.coupons.validation import (
    EDITABLE_ONCE_APPLIED,
    CouponState,
    check_coupon,
    invalid_expiration_at,
)


def _live(ctx: Ctx) -> Select[Coupon]:
    return select(Coupon).where(Coupon.organization_id == ctx.org_id, Coupon.deleted_at.is_(None))


def find_coupon(ctx: Ctx, code: str) -> Coupon | None:
    if "\x00" in code:  # PostgreSQL refuses NUL in text: no such code
        return None
    return ctx.session.scalar(_live(ctx).where(Coupon.code == code))


def get_coupon(ctx: Ctx, code: str) -> Coupon:
    coupon = find_coupon(ctx, code)
    if coupon is None:
        raise NotFound("coupon")
    return coupon


def is_expired(coupon: Coupon, now: datetime) -> bool:
    """A ``time_limit`` coupon is expired once ``expiration_at`` (to the second) is past."""
    if coupon.expiration != "time_limit" or coupon.expiration_at is None:
        return False
    return coupon.expiration_at.replace(microsecond=0) < now


def is_applicable(coupon: Coupon, now: datetime) -> bool:
    """Active and not expired, even when the hourly expiry has not run yet."""
    return coupon.status == "active" and not is_expired(coupon, now)


def is_applied(ctx: Ctx, coupon: Coupon) -> bool:
    """Applied to any customer, ever (terminated applications count, as in Lago)."""
    stmt = select(AppliedCoupon.id).where(
        AppliedCoupon.organization_id == ctx.org_id, AppliedCoupon.coupon_id == coupon.id
    )
    return ctx.session.scalar(stmt.limit(1)) is not None


def _code_taken(ctx: Ctx, code: str, exclude: Coupon | None) -> bool:
    stmt = _live(ctx).with_only_columns(Coupon.id).where(Coupon.code == code)
    if exclude is not None:
        stmt = stmt.where(Coupon.id != exclude.id)
    return ctx.session.scalar(stmt.limit(1)) is not None


def _check_expiration_at(ctx: Ctx, data: CouponInput, fields: set[str]) -> None:
    if "expiration_at" in fields and invalid_expiration_at(data.expiration_at, ctx.now()):
        raise ValidationFailed.field("expiration_at", "invalid_date")


def _flush(ctx: Ctx) -> None:
    try:
        with ctx.session.begin_nested():
            ctx.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"code": ["value_already_exist"]}) from exc


def _store(coupon: Coupon, state: CouponState) -> None:
    """Copy a validated state onto the row."""
    for name in ("coupon_type", "frequency", "expiration"):
        value = getattr(state, name)
        assert isinstance(value, str)
        setattr(coupon, name, value)
    assert state.name is not None and state.code is not None and state.reusable is not None
    assert not isinstance(state.amount_cents, Invalid) and not isinstance(state.percentage_rate, Invalid)
    assert not isinstance(state.expiration_at, Invalid)
    coupon.name = state.name
    coupon.code = state.code
    coupon.description = state.description
    coupon.amount_cents = state.amount_cents
    coupon.amount_currency = state.amount_currency
    coupon.percentage_rate = state.percentage_rate
    # Lago stores any valid duration, even for once/forever coupons.
    duration = state.frequency_duration
    coupon.frequency_duration = None if isinstance(duration, Invalid) else duration
    coupon.expiration_at = state.expiration_at
    coupon.reusable = state.reusable


def create_coupon(ctx: Ctx, data: CouponInput) -> Coupon:
    fields = set(data.model_fields_set)
    _check_expiration_at(ctx, data, fields)
    limits = targets.read_limitations(data.applies_to)
    targets.resolve(ctx, limits)
    state = CouponState()
    state.apply(data, fields)
    check_coupon(state, lambda code: _code_taken(ctx, code, None)).raise_if_any()
    now = ctx.now()
    coupon = Coupon(
        organization_id=ctx.org_id,
        limited_plans=bool(limits.plan_codes),
        limited_billable_metrics=bool(limits.billable_metric_codes),
        status="active",
        created_at=now,
        updated_at=now,
    )
    _store(coupon, state)
    ctx.session.add(coupon)
    _flush(ctx)
    if limits.plan_codes:
        targets.replace_plan_targets(ctx, coupon, limits.plan_codes)
    if limits.billable_metric_codes:
        ids = [limits.metric_ids[c] for c in limits.billable_metric_codes]
        targets.replace_metric_targets(ctx, coupon, ids)
    return coupon


def update_coupon(ctx: Ctx, code: str, data: CouponInput) -> Coupon:
    """Only sent fields change. Once applied to a customer, only name, description, expiration
    and expiration_at may change: the other fields (and ``applies_to``) are ignored, as in Lago.

    A list left out of ``applies_to`` keeps its targets, except that limiting a coupon to the other
    kind clears them. (Lago also clears the plan targets, but not ``limited_plans``, when
    ``plan_codes`` is left out, and likewise for metrics; Billow keeps them.)
    """
    coupon = get_coupon(ctx, code)
    fields = set(data.model_fields_set)
    _check_expiration_at(ctx, data, fields)
    applied = is_applied(ctx, coupon)
    if applied:
        fields &= EDITABLE_ONCE_APPLIED
    limits = targets.read_limitations(data.applies_to if "applies_to" in fields else None)
    targets.resolve(ctx, limits)
    state = CouponState.of(coupon)
    state.apply(data, fields)
    check_coupon(state, lambda c: _code_taken(ctx, c, coupon)).raise_if_any()
    _store(coupon, state)
    coupon.updated_at = ctx.now()
    _flush(ctx)
    if not applied:
        _update_targets(ctx, coupon, limits)
    return coupon


def _update_targets(ctx: Ctx, coupon: Coupon, limits: targets.Limitations) -> None:
    has_plans, has_metrics = targets.target_kinds(ctx.session, coupon)
    plans, metrics = limits.plan_codes, limits.billable_metric_codes
    if has_metrics and plans and not metrics:
        coupon.limited_billable_metrics = False
        targets.replace_metric_targets(ctx, coupon, [])
    elif metrics is not None:
        coupon.limited_billable_metrics = bool(metrics)
        targets.replace_metric_targets(ctx, coupon, [limits.metric_ids[c] for c in metrics])
    if has_plans and metrics and not plans:
        coupon.limited_plans = False
        targets.replace_plan_targets(ctx, coupon, [])
    elif plans is not None:
        coupon.limited_plans = bool(plans)
        targets.replace_plan_targets(ctx, coupon, plans)
    ctx.session.flush()


def delete_coupon(ctx: Ctx, code: str) -> Coupon:
    """Lago's destroy: soft delete (frees the code), its targets too, and every active
    application of it is terminated. The coupon's own ``status``/``terminated_at`` are kept."""
    coupon = get_coupon(ctx, code)
    now = ctx.now()
    coupon.deleted_at = now
    coupon.updated_at = now
    targets.delete_targets(ctx, coupon)
    ctx.session.execute(
        update(AppliedCoupon)
        .where(
            AppliedCoupon.organization_id == ctx.org_id,
            AppliedCoupon.coupon_id == coupon.id,
            AppliedCoupon.status == "active",
        )
        .values(status="terminated", terminated_at=now, updated_at=now)
    )
    ctx.session.flush()
    return coupon


def list_coupons(ctx: Ctx, page: PageParams) -> tuple[list[Coupon], int]:
    """Lago's order: active first, no_expiration first, soonest expiry first, then newest."""
    base = _live(ctx)
    total = ctx.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = ctx.session.scalars(
        base.order_by(
            Coupon.status,
            Coupon.expiration,
            Coupon.expiration_at.asc().nulls_last(),
            Coupon.created_at.desc(),
            Coupon.id,
        )
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return list(items), total


def terminate_expired_coupons(ctx: Ctx, at: datetime) -> int:
    """Hourly, every organization: ``time_limit`` coupons past their ``expiration_at`` turn
    ``terminated`` (already applied coupons keep working). Idempotent."""
    result = ctx.session.execute(
        update(Coupon)
        .where(
            Coupon.status == "active",
            Coupon.expiration == "time_limit",
            Coupon.deleted_at.is_(None),
            Coupon.expiration_at < at,
        )
        .values(status="terminated", terminated_at=at, updated_at=at)
    )
    ctx.session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
