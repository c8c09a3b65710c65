"""Subscription-fee amount of one invoice-subscription (billing.md §3.7).

The caller gathers the facts (from the invoice-subscription boundaries and the subscription's
history); :func:`subscription_fee_amount` applies Lago's decision order:

1. ``terminated`` — a terminated pay-in-arrears subscription (closed, or upgraded away): days
   from the period start to the termination; one day less after an upgrade (the new plan bills
   the upgrade day).
2. ``upgraded`` — first invoice of a subscription created by an upgrade: days to the period end.
3. ``full_period`` — the plan amount: pay-in-advance anniversary subscription without a previous
   subscription, a subscription fee already billed before, or a backdated subscription
   (pay-in-advance, or started before the period billed).
4. ``first_period`` — otherwise (first invoice, calendar, after a downgrade): days in the window.

Prorated amounts are ``amount_cents × days / duration`` computed exactly with Decimal (Lago
multiplies a float day price); a trial moves the start to its end, or zeroes the fee when it
covers the whole window. ``amount_cents`` is the precise amount rounded half-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Literal

from billow.core.money import DECIMAL_CONTEXT, round_half_up
from billow.subscriptions.periods.kinds import BillingTime, PlanChange
from billow.subscriptions.periods.localtime import as_utc, day_count
from billow.subscriptions.periods.trials import Trial, billable_from

FeeRule = Literal["terminated", "upgraded", "full_period", "first_period"]


@dataclass(frozen=True, slots=True)
class SubscriptionFeeFacts:
    """Everything the subscription-fee amount depends on.

    ``from_datetime`` / ``to_datetime``: the fee boundaries of the invoice-subscription.
    ``duration_days``: days of the whole period holding ``from_datetime``'s local date
    (:func:`~billow.subscriptions.periods.shapes.period_duration_days`, or
    ``BillingDates.duration``). ``terminated``: the subscription's status is terminated.
    ``successor``: its next subscription is an upgrade / a downgrade / none.
    ``is_first_invoice``: the subscription has at most one non-deleted invoice (this one).
    ``has_earlier_subscription_fee``: a subscription fee of this subscription was created
    before this invoice. ``started_in_past``: :func:`started_in_past`.
    ``started_before_billed_period``: ``started_at`` is before
    :func:`~billow.subscriptions.periods.dates.previous_beginning_of_period` at the billing time.
    """

    amount_cents: int
    duration_days: int
    from_datetime: datetime
    to_datetime: datetime
    timezone: str
    pay_in_advance: bool
    billing_time: BillingTime
    terminated: bool = False
    successor: PlanChange | None = None
    has_previous_subscription: bool = False
    previous_subscription_upgraded: bool = False
    is_first_invoice: bool = True
    has_earlier_subscription_fee: bool = False
    started_in_past: bool = False
    started_before_billed_period: bool = False
    trial: Trial | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionFeeAmount:
    rule: FeeRule
    precise_amount_cents: Decimal
    amount_cents: int
    days: int | None
    """Days billed; ``None`` when the full plan amount applies."""


def single_day_price(amount_cents: int | Decimal, duration_days: int) -> Decimal:
    """Price of one day of a period of ``duration_days`` days (unrounded)."""
    if duration_days <= 0:
        raise ValueError(f"period duration must be positive, got {duration_days}")
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(amount_cents) / duration_days


def prorated_amount(amount_cents: int | Decimal, days: int, duration_days: int) -> Decimal:
    """``amount_cents × days / duration_days``, exact to 60 significant digits."""
    if duration_days <= 0:
        raise ValueError(f"period duration must be positive, got {duration_days}")
    with localcontext(DECIMAL_CONTEXT):
        return Decimal(amount_cents) * days / duration_days


def started_in_past(started_at: datetime, created_at: datetime) -> bool:
    """Backdated: started on an earlier (UTC) date than the subscription was created."""
    return as_utc(started_at).date() < as_utc(created_at).date()


def fee_rule(facts: SubscriptionFeeFacts) -> FeeRule:
    """Which branch of §3.7's decision order applies."""
    if facts.terminated and not facts.pay_in_advance and facts.successor != "downgrade":
        return "terminated"
    if facts.has_previous_subscription and facts.is_first_invoice and facts.previous_subscription_upgraded:
        return "upgraded"
    advance_anniversary = (
        facts.pay_in_advance and facts.billing_time == "anniversary" and not facts.has_previous_subscription
    )
    backdated = facts.started_in_past and (facts.pay_in_advance or facts.started_before_billed_period)
    if advance_anniversary or facts.has_earlier_subscription_fee or backdated:
        return "full_period"
    return "first_period"


def _trial_start(facts: SubscriptionFeeFacts, rule: FeeRule, trial: Trial) -> datetime | None:
    """Window start once the trial is taken out; ``None`` when the trial covers the window."""
    if rule != "first_period":
        return billable_from(facts.from_datetime, facts.to_datetime, trial.end)
    # The first-invoice branch compares the trial end *date* with the window, then bills from
    # the exact trial end.
    marker = trial.end_date_marker
    if marker >= facts.to_datetime:
        return None
    return trial.end if facts.from_datetime < marker else facts.from_datetime


def _amount(rule: FeeRule, precise: Decimal, days: int | None) -> SubscriptionFeeAmount:
    return SubscriptionFeeAmount(rule, precise, int(round_half_up(precise)), days)


def subscription_fee_amount(facts: SubscriptionFeeFacts) -> SubscriptionFeeAmount:
    """The subscription fee of one invoice-subscription: precise Decimal and rounded cents."""
    rule = fee_rule(facts)
    start = facts.from_datetime
    if facts.trial is not None:
        trial_start = _trial_start(facts, rule, facts.trial)
        if trial_start is None:
            return _amount(rule, Decimal(0), 0)
        start = trial_start
    if rule == "full_period" and start == facts.from_datetime:
        return _amount(rule, Decimal(facts.amount_cents), None)
    days = max(day_count(start, facts.to_datetime, facts.timezone), 0)
    if rule == "terminated" and facts.successor == "upgrade":
        days = max(days - 1, 0)
    return _amount(rule, prorated_amount(facts.amount_cents, days, facts.duration_days), days)
