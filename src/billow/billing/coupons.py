"""Coupons on invoices (billing.md §6.1, §4.3 step 5): the ``coupons`` adjustment source.

Only when an invoice is finalized (never on drafts), and only when its fees amount to more than
zero, the customer's active applied coupons are locked (:mod:`billow.pricing.coupons.invoicing`)
and handed to the pure :func:`billow.billing.math.apply_coupons`, in Lago's order
(billable-metric-limited, plan-limited, unlimited; then oldest first). Then, in the same
transaction, each coupon used gets a ``credits`` row (``before_taxes``) and its lifecycle moves
on (once → terminated; once fixed → terminated when its remaining amount is used; recurring →
one period less, terminated at 0; forever → unchanged). The fees' coupon shares and the
invoice's ``coupons_amount_cents`` are written by :func:`billow.billing.assembly.write_fees`.

Kinds that take coupons: ``subscription``, ``in_advance_charge``, ``progressive_billing``.

* A fixed ``once`` coupon's remaining amount is its amount minus its credits on invoices that
  still count (not voided, closed or deleted).
* A coupon limited to plans or billable metrics that no longer has a live target is skipped
  (it matches no fee), never treated as unlimited.
* A coupon that already has a credit on this invoice is not applied again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, select

from billow.billing.adjustments import AdjustmentRequest
from billow.billing.credits import consumed_coupon_amounts
from billow.billing.math import AppliedCoupon, InvoiceTotals
from billow.billing.math.coupons import CouponType, Frequency
from billow.billing.models import Credit
from billow.core.ids import new_id
from billow.db.context import Ctx
from billow.db.prefetch import known_absent, prefetch_flags
from billow.pricing.coupons.invoicing import (
    InvoiceableCoupon,
    active_coupons_exist,
    customers_with_active_coupons,
    lock_invoiceable_coupons,
    record_coupon_use,
)

COUPON_KINDS = frozenset({"subscription", "in_advance_charge", "progressive_billing"})


def _math_coupon(entry: InvoiceableCoupon, consumed: int) -> AppliedCoupon:
    applied, coupon = entry.applied, entry.coupon
    fixed_once = coupon.coupon_type == "fixed_amount" and applied.frequency == "once"
    return AppliedCoupon(
        id=str(applied.id),
        coupon_type=cast(CouponType, coupon.coupon_type),
        frequency=cast(Frequency, applied.frequency),
        created_at=applied.created_at,
        amount_cents=applied.amount_cents or 0,
        amount_currency=applied.amount_currency,
        percentage_rate=applied.percentage_rate if applied.percentage_rate is not None else Decimal(0),
        frequency_duration_remaining=applied.frequency_duration_remaining,
        remaining_amount_cents=(applied.amount_cents or 0) - consumed if fixed_once else None,
        limited_plan_ids=frozenset(str(i) for i in entry.plan_ids) if coupon.limited_plans else frozenset(),
        limited_billable_metric_ids=(
            frozenset(str(i) for i in entry.billable_metric_ids)
            if coupon.limited_billable_metrics
            else frozenset()
        ),
    )


COUPONS_FLAG = "coupons.active"


def prefetch_coupon_flags(ctx: Ctx, customer_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """``BillingPrefetchHooks``: which customers have an active applied coupon."""
    return prefetch_flags(
        ctx, (COUPONS_FLAG,), customer_ids, customers_with_active_coupons(ctx, customer_ids)
    )


class CouponsSource:
    """The ``coupons`` adjustment source (wired in ``billow.runtime.build_hooks``)."""

    name = "coupons"

    def presence(self, ctx: Ctx, request: AdjustmentRequest) -> ColumnElement[bool] | bool:
        if not request.finalizing or request.kind not in COUPON_KINDS:
            return False
        if sum(fee.amount_cents for fee in request.fees) <= 0:
            return False
        if known_absent(ctx, COUPONS_FLAG, request.invoice.customer_id):
            return False
        return active_coupons_exist(ctx, request.invoice.customer_id)

    def collect(self, ctx: Ctx, request: AdjustmentRequest) -> Mapping[str, Any]:
        invoice = request.invoice
        if not request.finalizing or request.kind not in COUPON_KINDS:
            return {}
        if sum(fee.amount_cents for fee in request.fees) <= 0:
            return {}
        entries = lock_invoiceable_coupons(ctx, invoice.customer_id)
        if not entries:
            return {}
        already = set(
            ctx.session.scalars(
                select(Credit.applied_coupon_id).where(
                    Credit.invoice_id == invoice.id, Credit.applied_coupon_id.is_not(None)
                )
            )
        )
        usable = [e for e in entries if e.applied.id not in already and (not e.limited or e.has_targets)]
        if not usable:
            return {}
        consumed = consumed_coupon_amounts(ctx, [e.applied.id for e in usable])
        coupons = tuple(_math_coupon(e, consumed.get(e.applied.id, 0)) for e in usable)
        return {"applied_coupons": coupons}

    def persist(self, ctx: Ctx, request: AdjustmentRequest, totals: InvoiceTotals) -> None:
        invoice = request.invoice
        if not totals.coupon_credits and not totals.coupon_outcomes:
            return
        now = ctx.now()
        for credit in totals.coupon_credits:
            ctx.session.add(
                Credit(
                    id=new_id(),
                    organization_id=ctx.org_id,
                    invoice_id=invoice.id,
                    applied_coupon_id=uuid.UUID(credit.applied_coupon_id),
                    amount_cents=credit.amount_cents,
                    amount_currency=invoice.currency,
                    before_taxes=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        for outcome in totals.coupon_outcomes:
            if not outcome.applied:
                continue
            record_coupon_use(
                ctx,
                uuid.UUID(outcome.applied_coupon_id),
                frequency_duration_remaining=outcome.frequency_duration_remaining,
                terminated=outcome.terminated,
            )
        ctx.session.flush()
