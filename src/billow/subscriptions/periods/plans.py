"""Plan price comparison for upgrades and downgrades (billing.md §1, §2.3)."""

from __future__ import annotations

from billow.subscriptions.periods.kinds import Interval, check_interval

_PERIODS_PER_YEAR: dict[Interval, int] = {
    "yearly": 1,
    "semiannual": 2,
    "quarterly": 4,
    "monthly": 12,
    "weekly": 52,
}


def yearly_amount_cents(amount_cents: int, interval: Interval) -> int:
    """The plan amount over a year (weekly × 52), only ever used to compare two plans."""
    return amount_cents * _PERIODS_PER_YEAR[check_interval(interval)]


def is_upgrade(
    current_amount_cents: int,
    current_interval: Interval,
    new_amount_cents: int,
    new_interval: Interval,
) -> bool:
    """A plan change is an upgrade when the new yearly amount is ≥ the current one (ties too)."""
    return yearly_amount_cents(new_amount_cents, new_interval) >= yearly_amount_cents(
        current_amount_cents, current_interval
    )
