"""Vocabulary shared by the period modules: plan intervals, billing times, a period of days."""

from __future__ import annotations

from datetime import date
from typing import Literal, NamedTuple, get_args

Interval = Literal["weekly", "monthly", "quarterly", "semiannual", "yearly"]
BillingTime = Literal["calendar", "anniversary"]
PlanChange = Literal["upgrade", "downgrade"]
"""How a subscription's next (non-canceled) subscription relates to it."""

INTERVALS: tuple[Interval, ...] = get_args(Interval)
BILLING_TIMES: tuple[BillingTime, ...] = get_args(BillingTime)

MONTHS_PER_PERIOD: dict[Interval, int] = {"monthly": 1, "quarterly": 3, "semiannual": 6, "yearly": 12}
"""Length in months of every interval but ``weekly``."""

MONTHLY_SPLIT_INTERVALS: frozenset[Interval] = frozenset({"semiannual", "yearly"})
"""Intervals whose usage (or fixed charges) may be invoiced monthly (``bill_charges_monthly``)."""


class Period(NamedTuple):
    """An inclusive range of local calendar days: ``start`` … ``end``."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days in the period (both ends included)."""
        return (self.end - self.start).days + 1

    def includes(self, day: date) -> bool:
        return self.start <= day <= self.end


def check_interval(interval: str) -> Interval:
    if interval not in INTERVALS:
        raise ValueError(f"unknown plan interval: {interval!r}")
    return interval


def check_billing_time(billing_time: str) -> BillingTime:
    if billing_time not in BILLING_TIMES:
        raise ValueError(f"unknown billing_time: {billing_time!r}")
    return billing_time
