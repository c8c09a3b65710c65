"""Billing period shapes (billing.md §3.3, §3.5): which local days make up each period.

Every period is anchored on an *anniversary*: calendar billing uses January 1st (and Monday for
weekly plans), anniversary billing the subscription date in the customer's timezone. A monthly,
quarterly, semiannual or yearly period starts, in each month of its cycle, on the anniversary day
clamped to that month's length, and ends the day before the next start. The clamp is re-derived
for every period, so a short month never drags the following periods: with S = 2024-01-31 the
periods are 01-31→02-28, 02-29→03-30, 03-31→04-29, 04-30→05-30 …
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from billow.subscriptions.periods.kinds import (
    MONTHLY_SPLIT_INTERVALS,
    MONTHS_PER_PERIOD,
    BillingTime,
    Interval,
    Period,
    check_billing_time,
    check_interval,
)
from billow.subscriptions.periods.months import day_in_month, month_index

_ONE_DAY = timedelta(days=1)
_CALENDAR_ANCHOR = date(2001, 1, 1)
"""A Monday, January 1st: calendar periods are anniversary periods anchored there."""


def anchor_for(billing_time: BillingTime, anniversary_date: date | None) -> date:
    """The date periods are aligned on: Jan 1 (a Monday) for calendar, else the anniversary."""
    if check_billing_time(billing_time) == "calendar":
        return _CALENDAR_ANCHOR
    if anniversary_date is None:
        raise ValueError("anniversary billing needs the anniversary date (subscription_at in tz)")
    return anniversary_date


def period_containing(
    day: date,
    interval: Interval,
    billing_time: BillingTime,
    anniversary_date: date | None = None,
) -> Period:
    """The billing period (local days) that contains ``day``.

    ``anniversary_date`` is the subscription's ``subscription_at`` as a date in the customer's
    timezone; it is required for anniversary billing and ignored for calendar billing.
    """
    anchor = anchor_for(billing_time, anniversary_date)
    if check_interval(interval) == "weekly":
        start = day - timedelta(days=(day.weekday() - anchor.weekday()) % 7)
        return Period(start, start + timedelta(days=6))
    step = MONTHS_PER_PERIOD[interval]
    index = month_index(day)
    start_index = index - (index - month_index(anchor)) % step
    start = day_in_month(start_index, anchor.day)
    if day < start:
        start_index -= step
        start = day_in_month(start_index, anchor.day)
    return Period(start, day_in_month(start_index + step, anchor.day) - _ONE_DAY)


def next_period(
    period: Period, interval: Interval, billing_time: BillingTime, anniversary_date: date | None = None
) -> Period:
    return period_containing(period.end + _ONE_DAY, interval, billing_time, anniversary_date)


def previous_period(
    period: Period, interval: Interval, billing_time: BillingTime, anniversary_date: date | None = None
) -> Period:
    return period_containing(period.start - _ONE_DAY, interval, billing_time, anniversary_date)


def iter_periods(
    first_day: date,
    interval: Interval,
    billing_time: BillingTime,
    anniversary_date: date | None = None,
) -> Iterator[Period]:
    """Consecutive periods, from the one containing ``first_day`` onwards (endless)."""
    period = period_containing(first_day, interval, billing_time, anniversary_date)
    while True:
        yield period
        period = next_period(period, interval, billing_time, anniversary_date)


def period_duration_days(
    day: date,
    interval: Interval,
    billing_time: BillingTime,
    anniversary_date: date | None = None,
) -> int:
    """Days of the *whole* period containing ``day`` (§3.5), the proration denominator.

    Measured from the period's real start even when the subscription started later: weekly 7,
    monthly 28–31, quarterly 89–92, semiannual 181–184, yearly 365/366 (an anniversary year is
    366 days when it contains a February 29th).
    """
    return period_containing(day, interval, billing_time, anniversary_date).days


def is_first_month_of_period(
    day: date,
    interval: Interval,
    billing_time: BillingTime,
    anniversary_date: date | None = None,
) -> bool:
    """Whether the monthly period containing ``day`` opens its semiannual/yearly period.

    Used by plans billing charges (or fixed charges) monthly: the subscription fee belongs to
    the first month only. Always true for weekly, monthly and quarterly plans.
    """
    if check_interval(interval) not in MONTHLY_SPLIT_INTERVALS:
        return True
    monthly = period_containing(day, "monthly", billing_time, anniversary_date)
    return monthly.start == period_containing(day, interval, billing_time, anniversary_date).start
