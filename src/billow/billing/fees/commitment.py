"""The minimum-commitment true-up (billing.md §5.1).

Added to the invoice that closes a period: pay-in-arrears plans reconcile the period their fee
covers, pay-in-advance plans the previous period (nothing on their first invoice), terminations
the current partial period. ``commitment_for_period = round(amount × days_billed / days_total)``;
the true-up is what the subscription's fees of that period (subscription, usage and fixed-charge
fees, on any invoice, this one included) fall short of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from billow.billing.boundaries import Boundaries, property_datetime
from billow.billing.catalog import plan_commitment
from billow.billing.fees.drafts import FEE_PRECISION, FeeDraft
from billow.billing.fees.history import InvoiceFacts, SubscriptionHistory
from billow.billing.fees.subscription_fee import split_period_allows_fee
from billow.billing.fees.taxes import TaxResolver
from billow.billing.math import BilledFee, minimum_commitment_true_up
from billow.billing.models import Fee, Invoice, InvoiceSubscription
from billow.billing.subjects import BilledSubscription
from billow.core.money import cents_to_amount
from billow.db.context import Ctx
from billow.subscriptions.periods import Period, day_count, day_end_utc, day_start_utc, local_date

DEFAULT_NAME = "Minimum commitment"
_COUNTED = ("subscription", "charge", "fixed_charge")
_BOUND_KEYS = {
    "subscription": ("from_datetime", "to_datetime"),
    "charge": ("charges_from_datetime", "charges_to_datetime"),
    "fixed_charge": ("fixed_charges_from_datetime", "fixed_charges_to_datetime"),
}
_DEAD = ("voided", "deleted")


def _has_previous_billed_period(
    ctx: Ctx, billed: BilledSubscription, bounds: Boundaries, facts: InvoiceFacts
) -> bool:
    """Lago's ``previous_invoice_subscription``: an earlier invoice-subscription with a fee."""
    stmt = (
        select(func.count(InvoiceSubscription.id))
        .join(Fee, Fee.invoice_id == InvoiceSubscription.invoice_id)
        .where(
            InvoiceSubscription.organization_id == ctx.org_id,
            InvoiceSubscription.subscription_id == billed.id,
            InvoiceSubscription.from_datetime <= bounds.from_datetime,
            Fee.subscription_id == billed.id,
            Fee.fee_type == "subscription",
            Fee.deleted_at.is_(None),
        )
    )
    if facts.invoice_id is not None:
        stmt = stmt.where(InvoiceSubscription.invoice_id != facts.invoice_id)
    return (ctx.session.scalar(stmt) or 0) > 0


def _reconciled_period(billed: BilledSubscription, bounds: Boundaries) -> Period:
    schedule = billed.schedule()
    day = local_date(bounds.from_datetime, billed.timezone)
    if billed.plan.pay_in_advance and not billed.terminated:
        day = schedule.period_containing(day).start - timedelta(days=1)
    return schedule.period_containing(day)


def _first_from(ctx: Ctx, billed: BilledSubscription, start: datetime, end: datetime) -> datetime:
    first = ctx.session.scalar(
        select(func.min(InvoiceSubscription.from_datetime))
        .join(Invoice, Invoice.id == InvoiceSubscription.invoice_id)
        .where(
            InvoiceSubscription.organization_id == ctx.org_id,
            InvoiceSubscription.subscription_id == billed.id,
            InvoiceSubscription.from_datetime >= start,
            InvoiceSubscription.from_datetime <= end,
            Invoice.status.not_in(_DEAD),
        )
    )
    return first or max(start, day_start_utc(local_date(billed.started_at, billed.timezone), billed.timezone))


def _within(fee_type: str, properties: dict[str, object], start: datetime, end: datetime) -> bool:
    if fee_type == "charge" and properties.get("display_bounds"):
        # A pay-in-advance charge fee counts for the period it pays for (a recurring charge
        # renewed on a period's closing invoice pays for the next period), as local days.
        lower = property_datetime(properties, "display_from_datetime")
        upper = property_datetime(properties, "display_to_datetime")
        return (
            lower is not None
            and upper is not None
            and start.date() <= lower.date() <= upper.date() <= end.date()
        )
    keys = _BOUND_KEYS.get(fee_type)
    if keys is None:
        return False
    lower = property_datetime(properties, keys[0])
    upper = property_datetime(properties, keys[1])
    return lower is not None and upper is not None and lower >= start and upper <= end


def _period_fees(
    ctx: Ctx, billed: BilledSubscription, start: datetime, end: datetime, current: Sequence[FeeDraft]
) -> list[BilledFee]:
    rows = ctx.session.execute(
        select(Fee.fee_type, Fee.properties, Fee.amount_cents, Fee.precise_amount_cents)
        .outerjoin(Invoice, Invoice.id == Fee.invoice_id)
        .where(
            Fee.organization_id == ctx.org_id,
            Fee.subscription_id == billed.id,
            Fee.fee_type.in_(_COUNTED),
            Fee.deleted_at.is_(None),
            Fee.created_at >= start - timedelta(days=1),
            or_(Fee.invoice_id.is_(None), Invoice.status.not_in(_DEAD)),
        )
    ).all()
    fees = [
        BilledFee(amount, precise)
        for fee_type, properties, amount, precise in rows
        if _within(fee_type, properties, start, end)
    ]
    fees.extend(
        BilledFee(d.amount_cents, d.precise_amount_cents)
        for d in current
        if d.subscription_id == billed.id and _within(d.fee_type, d.properties, start, end)
    )
    return fees


def commitment_fee(
    ctx: Ctx,
    billed: BilledSubscription,
    bounds: Boundaries,
    facts: InvoiceFacts,
    history: SubscriptionHistory,
    current: Sequence[FeeDraft],
    taxes: TaxResolver,
) -> FeeDraft | None:
    found = plan_commitment(ctx, billed.plan.id)
    if found is None or found[0].amount_cents <= 0:
        return None
    commitment, commitment_taxes = found
    if not split_period_allows_fee(billed, facts, history):
        return None
    if billed.plan.pay_in_advance and not _has_previous_billed_period(ctx, billed, bounds, facts):
        return None
    period = _reconciled_period(billed, bounds)
    tz = billed.timezone
    start, end = day_start_utc(period.start, tz), day_end_utc(period.end, tz)
    sub = billed.subscription
    ending = min(sub.terminated_at, end) if billed.terminated and sub.terminated_at else end
    first = _first_from(ctx, billed, start, end)
    days = max(day_count(first, ending, tz), 0)
    true_up = minimum_commitment_true_up(
        commitment.amount_cents,
        days,
        day_count(start, end, tz),
        _period_fees(ctx, billed, start, end, current),
    )
    if not true_up.due:
        return None
    currency = billed.plan.amount_currency
    return FeeDraft(
        fee_type="commitment",
        subscription_id=billed.id,
        amount_currency=currency,
        amount_cents=true_up.amount_cents,
        precise_amount_cents=true_up.precise_amount_cents.quantize(FEE_PRECISION),
        units=Decimal(1),
        unit_amount_cents=true_up.amount_cents,
        precise_unit_amount=cents_to_amount(true_up.amount_cents, currency),
        invoice_display_name=commitment.invoice_display_name or DEFAULT_NAME,
        properties={
            "from_datetime": _iso(first),
            "to_datetime": _iso(ending),
            "commitment_id": str(commitment.id),
        },
        taxes=taxes.for_fee("commitment", billed.plan.id, commitment_taxes),
    )


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
