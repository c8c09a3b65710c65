"""Coupons and applied coupons in Lago's API shape.

``percentage_rate`` is a decimal string, as Lago renders its numeric(10, 5) column ("12.5").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from billow.core.money import decimal_str_or_none
from billow.core.timefmt import iso_z
from billow.pricing.coupons.applied import AppliedCouponView
from billow.pricing.coupons.hooks import CouponUsage
from billow.pricing.coupons.models import Coupon
from billow.pricing.coupons.targets import TargetCodes, codes_by_coupon


def coupon_payload(coupon: Coupon, codes: TargetCodes) -> dict[str, Any]:
    return {
        "lago_id": str(coupon.id),
        "name": coupon.name,
        "code": coupon.code,
        "description": coupon.description,
        "coupon_type": coupon.coupon_type,
        "amount_cents": coupon.amount_cents,
        "amount_currency": coupon.amount_currency,
        "percentage_rate": decimal_str_or_none(coupon.percentage_rate),
        "frequency": coupon.frequency,
        "frequency_duration": coupon.frequency_duration,
        "reusable": coupon.reusable,
        "limited_plans": coupon.limited_plans,
        "limited_billable_metrics": coupon.limited_billable_metrics,
        "plan_codes": list(codes.plan_codes),
        "billable_metric_codes": list(codes.billable_metric_codes),
        "created_at": iso_z(coupon.created_at),
        "expiration": coupon.expiration,
        "expiration_at": iso_z(coupon.expiration_at),
        "terminated_at": iso_z(coupon.terminated_at),
    }


def coupons_payload(session: Session, coupons: Sequence[Coupon]) -> list[dict[str, Any]]:
    codes = codes_by_coupon(session, [c.id for c in coupons])
    return [coupon_payload(c, codes[c.id]) for c in coupons]


def one_coupon_payload(session: Session, coupon: Coupon) -> dict[str, Any]:
    return coupons_payload(session, [coupon])[0]


def _amount_cents_remaining(view: AppliedCouponView, usage: CouponUsage) -> int | None:
    """A fixed ``once`` coupon's amount minus its credits on invoices that still count."""
    applied = view.applied
    if applied.frequency in ("recurring", "forever") or view.coupon.coupon_type == "percentage":
        return None
    if applied.amount_cents is None:
        return None
    return applied.amount_cents - usage.consumed_amount_cents


def applied_coupon_payload(
    view: AppliedCouponView, usage: CouponUsage | None = None, *, with_credits: bool = False
) -> dict[str, Any]:
    """``AppliedCouponObject``; the index adds ``credits`` (Lago's ``includes: credits``).
    ``usage`` comes from :func:`billow.pricing.coupons.hooks.coupon_usage`."""
    applied, coupon = view.applied, view.coupon
    usage = usage or CouponUsage()
    payload: dict[str, Any] = {
        "lago_id": str(applied.id),
        "lago_coupon_id": str(coupon.id),
        "coupon_code": coupon.code,
        "coupon_name": coupon.name,
        "coupon_description": coupon.description,
        "coupon_status": coupon.status,
        "coupon_deleted_at": iso_z(coupon.deleted_at),
        "lago_customer_id": str(applied.customer_id),
        "external_customer_id": view.external_customer_id,
        "status": applied.status,
        "amount_cents": applied.amount_cents,
        "amount_cents_remaining": _amount_cents_remaining(view, usage),
        "amount_currency": applied.amount_currency,
        "percentage_rate": decimal_str_or_none(applied.percentage_rate),
        "frequency": applied.frequency,
        "frequency_duration": applied.frequency_duration,
        "frequency_duration_remaining": applied.frequency_duration_remaining,
        "expiration_at": iso_z(coupon.expiration_at),
        "created_at": iso_z(applied.created_at),
        "terminated_at": iso_z(applied.terminated_at),
    }
    if with_credits:
        payload["credits"] = list(usage.credits)
    return payload
