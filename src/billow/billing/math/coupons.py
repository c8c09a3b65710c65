"""Coupons applied to an invoice (billing.md §6.1), before taxes.

Order: coupons limited to billable metrics, then limited to plans, then unlimited; ties by the
applied coupon's ``created_at``. Before each coupon, stop if the invoice sub-total (ex-tax,
after progressive-billing credit and earlier coupons) is no longer positive. A fixed-amount
coupon in another currency, or a limited coupon with no matching fee, is skipped.

* Base: unlimited → the invoice sub-total; limited → Σ over matching fees of
  ``amount_cents − precise_coupons_amount_cents``.
* Amount: percentage → ``round(base × rate / 100)``, or ``base`` when that is not smaller;
  fixed recurring/forever → ``min(amount_cents, base)``; fixed once → ``min(remaining, base)``.
* Distribution: each matching fee gets ``credit × (amount − precise_coupons) / base`` added to
  its ``precise_coupons_amount_cents`` (stored at 5 dp, capped at the fee amount).
* Lifecycle: once+percentage terminates after its first use; once+fixed terminates when the
  credit reaches what remained; recurring loses one ``frequency_duration_remaining`` per invoice
  and terminates at 0; forever never terminates.

Decisions where Lago is loose:

* The credit (``credits[].amount_cents``, ``coupons_amount_cents``) is whole cents. The amount
  is fractional only when it equals a fractional limited base; Lago then stores the truncated
  cents but spreads the fractional amount on the fees. Billow spreads the truncated cents, so
  that ``round(Σ fee coupon shares) == coupons_amount_cents`` always holds.
* A credit is also capped at the invoice's current sub-total, so the sub-total never goes below
  zero (a limited base can only exceed it when a progressive-billing spread missed a fee).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from billow.billing.math.fees import FeeLine, add_precise_discount, exact, round_cents, truncate_cents
from billow.core.money import ZERO

CouponType = Literal["fixed_amount", "percentage"]
Frequency = Literal["once", "recurring", "forever"]
SkipReason = Literal["currency_mismatch", "no_matching_fees", "sub_total_reached_zero", "no_fees_amount"]


@dataclass(frozen=True, slots=True)
class AppliedCoupon:
    """An active applied coupon of the customer, with the overrides of ``POST /applied_coupons``.

    * ``remaining_amount_cents`` (fixed once): ``amount_cents − Σ credits`` on non-voided
      invoices; ``None`` means nothing was used yet.
    * ``limited_plan_ids``: the coupon's plans and their overrides.
    * ``limited_billable_metric_ids``: the coupon's billable metrics.
    """

    id: str
    coupon_type: CouponType
    frequency: Frequency
    created_at: datetime
    amount_cents: int = 0
    amount_currency: str | None = None
    percentage_rate: Decimal = ZERO
    frequency_duration_remaining: int | None = None
    remaining_amount_cents: int | None = None
    limited_plan_ids: frozenset[str] = frozenset()
    limited_billable_metric_ids: frozenset[str] = frozenset()

    @property
    def limited_to_billable_metrics(self) -> bool:
        return bool(self.limited_billable_metric_ids)

    @property
    def limited_to_plans(self) -> bool:
        return bool(self.limited_plan_ids) and not self.limited_to_billable_metrics

    @property
    def remaining_amount(self) -> int:
        return self.amount_cents if self.remaining_amount_cents is None else self.remaining_amount_cents


@dataclass(frozen=True, slots=True)
class CouponCredit:
    """A ``credits[]`` line of ``item.type = "coupon"``.

    ``precise_amount_cents`` is the amount before it is cut to whole cents; ``fee_shares`` maps
    each matching fee to what it received (after the 5 dp storage and the cap).
    """

    applied_coupon_id: str
    amount_cents: int
    precise_amount_cents: Decimal
    base_amount_cents: Decimal
    fee_shares: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class CouponOutcome:
    """What happens to an applied coupon once the invoice is finalized."""

    applied_coupon_id: str
    applied: bool
    terminated: bool
    frequency_duration_remaining: int | None
    remaining_amount_cents: int | None
    skipped_reason: SkipReason | None = None


@dataclass(frozen=True, slots=True)
class CouponsResult:
    """Fees with coupon shares added, the credit lines, and each coupon's outcome."""

    fees: tuple[FeeLine, ...]
    credits: tuple[CouponCredit, ...]
    outcomes: tuple[CouponOutcome, ...]
    coupons_amount_cents: int
    sub_total_excluding_taxes_amount_cents: int
    fee_coupon_shares: Mapping[str, Decimal]


def order_applied_coupons(applied_coupons: Sequence[AppliedCoupon]) -> list[AppliedCoupon]:
    """Billable-metric-limited first, then plan-limited, then unlimited; then ``created_at``."""
    return sorted(
        applied_coupons,
        key=lambda c: (not c.limited_to_billable_metrics, not c.limited_to_plans, c.created_at),
    )


def matching_fees(coupon: AppliedCoupon, fees: Sequence[FeeLine]) -> list[int]:
    """Indexes of the fees a coupon applies to."""
    if coupon.limited_to_billable_metrics:
        return [
            i
            for i, fee in enumerate(fees)
            if fee.fee_type == "charge" and fee.billable_metric_id in coupon.limited_billable_metric_ids
        ]
    if coupon.limited_to_plans:
        return [
            i
            for i, fee in enumerate(fees)
            if fee.plan_id is not None and fee.plan_id in coupon.limited_plan_ids
        ]
    return list(range(len(fees)))


@exact
def coupon_amount(coupon: AppliedCoupon, base_amount_cents: Decimal) -> Decimal:
    """The coupon's credit on ``base_amount_cents`` (§6.1 amount rules), before truncation."""
    base = Decimal(base_amount_cents)
    if coupon.coupon_type == "percentage":
        discounted = base * coupon.percentage_rate / Decimal(100)
        return base if discounted >= base else Decimal(round_cents(discounted))
    cap = coupon.amount_cents if coupon.frequency in ("recurring", "forever") else coupon.remaining_amount
    return base if cap > base else Decimal(cap)


def _outcome(coupon: AppliedCoupon, credit_cents: int) -> CouponOutcome:
    remaining_duration = coupon.frequency_duration_remaining
    remaining_amount = coupon.remaining_amount_cents
    if coupon.frequency == "recurring":
        remaining_duration = max((remaining_duration or 0) - 1, 0)
        terminated = remaining_duration <= 0
    elif coupon.frequency == "once":
        if coupon.coupon_type == "percentage":
            terminated = True
        else:
            terminated = credit_cents >= coupon.remaining_amount
            remaining_amount = coupon.remaining_amount - credit_cents
    else:
        terminated = False
    return CouponOutcome(
        applied_coupon_id=coupon.id,
        applied=True,
        terminated=terminated,
        frequency_duration_remaining=remaining_duration,
        remaining_amount_cents=remaining_amount,
    )


def _skipped(coupon: AppliedCoupon, reason: SkipReason) -> CouponOutcome:
    return CouponOutcome(
        applied_coupon_id=coupon.id,
        applied=False,
        terminated=False,
        frequency_duration_remaining=coupon.frequency_duration_remaining,
        remaining_amount_cents=coupon.remaining_amount_cents,
        skipped_reason=reason,
    )


@exact
def apply_coupons(
    fees: Sequence[FeeLine],
    applied_coupons: Sequence[AppliedCoupon],
    *,
    currency: str,
    sub_total_excluding_taxes_amount_cents: int,
) -> CouponsResult:
    """Apply the customer's active coupons to an invoice (§6.1).

    ``sub_total_excluding_taxes_amount_cents`` is ``fees − progressive-billing credit`` at this
    point; ``fees`` already carry the progressive-billing spread in
    ``precise_coupons_amount_cents``.
    """
    current = list(fees)
    sub_total = sub_total_excluding_taxes_amount_cents
    credits: list[CouponCredit] = []
    outcomes: list[CouponOutcome] = []
    shares: dict[str, Decimal] = {}
    fees_amount = sum(fee.amount_cents for fee in current)
    ordered = order_applied_coupons(applied_coupons)
    for position, coupon in enumerate(ordered):
        if fees_amount == 0:
            outcomes.extend(_skipped(c, "no_fees_amount") for c in ordered[position:])
            break
        if sub_total <= 0:
            outcomes.extend(_skipped(c, "sub_total_reached_zero") for c in ordered[position:])
            break
        if coupon.coupon_type == "fixed_amount" and coupon.amount_currency != currency:
            outcomes.append(_skipped(coupon, "currency_mismatch"))
            continue
        indexes = matching_fees(coupon, current)
        if not indexes:
            outcomes.append(_skipped(coupon, "no_matching_fees"))
            continue
        if coupon.limited_to_billable_metrics or coupon.limited_to_plans:
            base = sum((current[i].sub_total_excluding_taxes_amount_cents for i in indexes), ZERO)
        else:
            base = Decimal(sub_total)
        precise_credit = coupon_amount(coupon, base)
        credit_cents = min(truncate_cents(precise_credit), sub_total)
        fee_shares: dict[str, Decimal] = {}
        for i in indexes:
            before = current[i]
            share = ZERO
            if base != 0:
                share = Decimal(credit_cents) * before.sub_total_excluding_taxes_amount_cents / base
            after = add_precise_discount(before, share)
            current[i] = after
            taken = after.precise_coupons_amount_cents - before.precise_coupons_amount_cents
            fee_shares[before.id] = taken
            shares[before.id] = shares.get(before.id, ZERO) + taken
        credits.append(
            CouponCredit(
                applied_coupon_id=coupon.id,
                amount_cents=credit_cents,
                precise_amount_cents=precise_credit,
                base_amount_cents=base,
                fee_shares=fee_shares,
            )
        )
        outcomes.append(_outcome(coupon, credit_cents))
        sub_total -= credit_cents
    coupons_amount = sum(credit.amount_cents for credit in credits)
    return CouponsResult(
        fees=tuple(current),
        credits=tuple(credits),
        outcomes=tuple(outcomes),
        coupons_amount_cents=coupons_amount,
        sub_total_excluding_taxes_amount_cents=sub_total,
        fee_coupon_shares=shares,
    )
