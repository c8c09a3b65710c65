"""Free trials (billing.md §2.5).

A plan has a trial when ``trial_period`` (days, may be fractional) is positive. The trial runs from
the *initial* start — the earliest ``started_at`` among the customer's subscriptions sharing the
external id, so upgrades and re-creations do not restart it — for the current plan's
``trial_period`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext

from billow.core.money import DECIMAL_CONTEXT, round_half_up
from billow.subscriptions.periods.localtime import as_utc, local_date

_US_PER_DAY = Decimal(86_400_000_000)


def has_trial(trial_period_days: Decimal | int | None) -> bool:
    return trial_period_days is not None and trial_period_days > 0


def days_to_timedelta(days: Decimal | int) -> timedelta:
    """``days`` (possibly fractional) as an exact duration, to the microsecond (half-up)."""
    with localcontext(DECIMAL_CONTEXT):
        return timedelta(microseconds=int(round_half_up(Decimal(days) * _US_PER_DAY)))


@dataclass(frozen=True, slots=True)
class Trial:
    initial_started_at: datetime
    period_days: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "initial_started_at", as_utc(self.initial_started_at))

    @property
    def end(self) -> datetime:
        """The exact instant the trial ends: initial start + ``trial_period`` days."""
        return self.initial_started_at + days_to_timedelta(self.period_days)

    @property
    def end_date_marker(self) -> datetime:
        """Lago's date-level trial end, as the instant it is compared at.

        The first-invoice proration compares the trial end *date* (UTC date of the initial start
        plus the trial days) with the fee boundaries; a date compares as its UTC midnight.
        """
        initial_day = datetime.combine(self.initial_started_at.date(), time(0), tzinfo=UTC)
        return initial_day + days_to_timedelta(self.period_days)

    def is_active(self, at: datetime, trial_ended_at: datetime | None = None) -> bool:
        """In trial at ``at``: not marked ended, started, and the end still in the future."""
        at = as_utc(at)
        return trial_ended_at is None and self.initial_started_at <= at < self.end

    def has_ended(self, at: datetime) -> bool:
        """The trial end is at or before ``at`` (the hourly trial-end job then bills it)."""
        return self.end <= as_utc(at)

    def ends_on(self, day: date, tz: str) -> bool:
        """The trial ends on local day ``day`` in ``tz``."""
        return local_date(self.end, tz) == day

    def skips_subscription_fee(self, billing_at: datetime, tz: str, trial_ended_at: datetime | None) -> bool:
        """§3.7: no subscription fee while in a trial that does not end on the billing day."""
        return self.is_active(billing_at, trial_ended_at) and not self.ends_on(local_date(billing_at, tz), tz)


def trial_for(initial_started_at: datetime, trial_period_days: Decimal | int | None) -> Trial | None:
    """The trial of a subscription, or ``None`` when the plan has none."""
    if trial_period_days is None or not has_trial(trial_period_days):
        return None
    return Trial(initial_started_at, Decimal(trial_period_days))


def trial_end_datetime(
    initial_started_at: datetime, trial_period_days: Decimal | int | None
) -> datetime | None:
    trial = trial_for(initial_started_at, trial_period_days)
    return None if trial is None else trial.end


def billable_from(from_datetime: datetime, to_datetime: datetime, trial_end: datetime) -> datetime | None:
    """Where a fee window starts once the trial is taken out (§2.5, §3.7).

    ``None`` when the trial covers the whole window (nothing to bill); the trial end when it
    falls strictly inside the window; else the window start unchanged.
    """
    if trial_end >= to_datetime:
        return None
    if from_datetime < trial_end:
        return trial_end
    return from_datetime
