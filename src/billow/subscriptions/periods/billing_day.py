"""Which days a subscription is billed on (billing.md §3.1, the calendar rule only).

The other conditions of §3.1 (status, never on the start day nor the ``ending_at`` day, not
already billed today) belong to the caller; this module answers "is ``today`` a billing day of
this plan/subscription shape", ``today`` being the date in the customer's timezone.
"""

from __future__ import annotations

import calendar
from datetime import date

from billow.subscriptions.periods.kinds import (
    MONTHLY_SPLIT_INTERVALS,
    BillingTime,
    Interval,
    check_billing_time,
    check_interval,
)
from billow.subscriptions.periods.months import is_last_day_of_month

_CALENDAR_MONTHS: dict[Interval, tuple[int, ...]] = {
    "quarterly": (1, 4, 7, 10),
    "semiannual": (1, 7),
    "yearly": (1,),
}
_CYCLE_MONTHS: dict[Interval, int] = {"quarterly": 3, "semiannual": 6}


def is_anniversary_day(today: date, anniversary_day: int) -> bool:
    """Today's day is the anniversary day, or today ends a month too short to hold it."""
    return today.day == anniversary_day or (is_last_day_of_month(today) and anniversary_day > today.day)


def is_billing_day(
    today: date,
    interval: Interval,
    billing_time: BillingTime,
    subscription_at_local_date: date | None = None,
    bill_charges_monthly: bool = False,
    bill_fixed_charges_monthly: bool = False,
) -> bool:
    """Whether ``today`` (customer tz) is a billing day, per the table of §3.1.

    Semiannual and yearly plans that bill charges or fixed charges monthly are billed every
    month (the 1st for calendar, the anniversary day otherwise); the flags are ignored for the
    other intervals. ``subscription_at_local_date`` is required for anniversary billing.
    """
    interval = check_interval(interval)
    monthly = interval == "monthly" or (
        interval in MONTHLY_SPLIT_INTERVALS and (bill_charges_monthly or bill_fixed_charges_monthly)
    )
    if check_billing_time(billing_time) == "calendar":
        if interval == "weekly":
            return today.isoweekday() == 1
        return today.day == 1 and (monthly or today.month in _CALENDAR_MONTHS[interval])

    if subscription_at_local_date is None:
        raise ValueError("anniversary billing needs the subscription date in the customer's timezone")
    anniversary = subscription_at_local_date
    if interval == "weekly":
        return today.weekday() == anniversary.weekday()
    if monthly:
        return is_anniversary_day(today, anniversary.day)
    if interval == "yearly":
        if today.month != anniversary.month:
            return False
        leap_day_in_common_year = (
            anniversary.month == 2
            and anniversary.day == 29
            and today.day == 28
            and not calendar.isleap(today.year)
        )
        return today.day == anniversary.day or leap_day_in_common_year
    in_cycle = (today.month - anniversary.month) % _CYCLE_MONTHS[interval] == 0
    return in_cycle and is_anniversary_day(today, anniversary.day)
