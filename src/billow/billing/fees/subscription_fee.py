"""The subscription fee of one invoice-subscription (billing.md §3.7).

Whether to bill it (skip rules) and the amount (the periods package's decision order, fed with
the subscription's history). Yearly and semiannual plans billing charges monthly bill the fee
only in the first month of their period.
"""

from __future__ import annotations

from decimal import Decimal

from billow.billing.boundaries import Boundaries
from billow.billing.fees.drafts import FEE_PRECISION, FeeDraft
from billow.billing.fees.history import InvoiceFacts, SubscriptionHistory
from billow.billing.fees.taxes import TaxResolver
from billow.billing.subjects import BilledSubscription
from billow.core.money import cents_to_amount
from billow.subscriptions.periods import (
    SubscriptionFeeFacts,
    is_first_month_of_period,
    local_date,
    period_containing,
    period_duration_days,
    previous_beginning_of_period,
    started_in_past,
    subscription_fee_amount,
)
from billow.subscriptions.periods.kinds import check_billing_time, check_interval


def split_period_allows_fee(
    billed: BilledSubscription, facts: InvoiceFacts, history: SubscriptionHistory
) -> bool:
    """Lago's ``should_create_yearly/semiannual_subscription_fee?``."""
    schedule = billed.schedule()
    if schedule.interval not in ("yearly", "semiannual"):
        return True
    day = local_date(facts.timestamp, billed.timezone)
    first_month = is_first_month_of_period(
        day, schedule.interval, schedule.billing_time, schedule.anniversary_date
    )
    backdated = started_in_past(billed.started_at, billed.subscription.created_at)
    if billed.plan.pay_in_advance and not backdated:
        return first_month or not history.ever_billed_subscription_fee
    if billed.plan.pay_in_advance:
        first_period = (
            period_containing(day, schedule.interval, schedule.billing_time, schedule.anniversary_date).start
            == period_containing(
                schedule.anniversary_date, schedule.interval, schedule.billing_time, schedule.anniversary_date
            ).start
        )
        return first_month and not first_period
    return billed.terminated or first_month


def should_bill_subscription_fee(
    billed: BilledSubscription,
    facts: InvoiceFacts,
    history: SubscriptionHistory,
    *,
    has_advance_fixed_charges: bool,
) -> bool:
    plan, sub = billed.plan, billed.subscription
    if plan.pay_in_advance and history.subscription_fee_on_day_elsewhere:
        return False
    if not split_period_allows_fee(billed, facts, history):
        return False
    trial = billed.trial
    if trial is not None and billed.in_trial_at(facts.timestamp):
        today = local_date(facts.timestamp, billed.timezone)
        if not trial.ends_on(today, billed.timezone):
            return False
    starting_for_fixed_charges = (
        history.invoice_subscription_count <= 1
        and history.last_is_starting
        and has_advance_fixed_charges
        and not plan.pay_in_advance
    )
    if starting_for_fixed_charges:
        return False
    if sub.status == "active":
        return True
    if billed.terminated and not plan.pay_in_advance:
        return True
    return billed.terminated and sub.terminated_at is not None and sub.terminated_at > facts.created_at


def subscription_fee(
    billed: BilledSubscription,
    bounds: Boundaries,
    facts: InvoiceFacts,
    history: SubscriptionHistory,
    taxes: TaxResolver,
) -> FeeDraft:
    plan = billed.plan
    schedule = billed.schedule()
    tz = billed.timezone
    duration = period_duration_days(
        local_date(bounds.from_datetime, tz),
        check_interval(plan.interval),
        check_billing_time(billed.subscription.billing_time),
        schedule.anniversary_date,
    )
    started = billed.started_at
    amount = subscription_fee_amount(
        SubscriptionFeeFacts(
            amount_cents=plan.amount_cents,
            duration_days=duration,
            from_datetime=bounds.from_datetime,
            to_datetime=bounds.to_datetime,
            timezone=tz,
            pay_in_advance=plan.pay_in_advance,
            billing_time=schedule.billing_time,
            terminated=billed.terminated,
            successor=billed.successor,
            has_previous_subscription=billed.subscription.previous_subscription_id is not None,
            previous_subscription_upgraded=billed.previous_upgraded,
            is_first_invoice=history.invoice_count <= 1,
            has_earlier_subscription_fee=history.has_earlier_subscription_fee,
            started_in_past=started_in_past(started, billed.subscription.created_at),
            started_before_billed_period=started < previous_beginning_of_period(schedule, facts.timestamp),
            trial=billed.trial,
        )
    )
    precise = amount.precise_amount_cents.quantize(FEE_PRECISION)
    return FeeDraft(
        fee_type="subscription",
        subscription_id=billed.id,
        amount_currency=plan.amount_currency,
        amount_cents=amount.amount_cents,
        precise_amount_cents=precise,
        units=Decimal(1),
        unit_amount_cents=amount.amount_cents,
        precise_unit_amount=cents_to_amount(amount.amount_cents, plan.amount_currency),
        amount_details={"plan_amount_cents": plan.amount_cents},
        properties=bounds.properties(),
        pay_in_advance=plan.pay_in_advance,
        taxes=taxes.for_fee("subscription", plan.id),
    )
