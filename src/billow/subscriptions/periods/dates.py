"""The dates service (billing.md §3.2, §3.4, §3.8): the boundaries of one invoice-subscription.

Given the billing timestamp and a subscription's :class:`Schedule`, :func:`billing_dates` returns
the subscription-fee period (``from/to_datetime``), the usage period (``charges_from/to``), the
fixed-charges period and the whole-period durations, all as UTC instants of local days in the
customer's timezone (see :mod:`billow.subscriptions.periods.localtime` for the precision).

* ``billing_date`` = the billing timestamp's date in the customer's timezone; the *base date* is
  ``billing_date`` one interval back (the period being closed), or ``billing_date`` itself for
  current usage.
* Subscription fee: pay-in-advance (and arrears plans terminated other than by a downgrade) → the
  period holding ``billing_date``; in arrears → the period holding the base date.
* Usage and fixed charges: the period holding the base date (for arrears plans: the fee's
  period); on the invoice of a terminated subscription with no successor, the current period.
  Semiannual/yearly plans with ``bill_charges_monthly`` / ``bill_fixed_charges_monthly`` use
  monthly periods for those.
* Clamps: ``from`` before ``started_at`` → start of ``started_at``'s local day; ``charges_from``
  / ``fixed_charges_from`` before ``started_at`` → exactly ``started_at``; ``to`` after a
  termination at or before the billing time → ``terminated_at``; ``charges_to`` /
  ``fixed_charges_to`` after ``terminated_at`` → ``terminated_at``; any ``to`` before
  ``started_at`` → ``started_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from billow.subscriptions.periods.kinds import (
    MONTHLY_SPLIT_INTERVALS,
    MONTHS_PER_PERIOD,
    BillingTime,
    Interval,
    Period,
    PlanChange,
    check_billing_time,
    check_interval,
)
from billow.subscriptions.periods.localtime import (
    ONE_MICROSECOND,
    as_utc,
    day_end_utc,
    day_start_utc,
    local_date,
    start_of_local_day,
)
from billow.subscriptions.periods.months import days_in_month, is_last_day_of_month, shift_months
from billow.subscriptions.periods.shapes import is_first_month_of_period, period_containing

_ONE_DAY = timedelta(days=1)
_TIMEZONE_CHANGE_WINDOW = timedelta(hours=26)
"""Largest distance between two places' clocks: a previous ``charges_to`` farther than this from
the new ``charges_from`` is not the previous period's end."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """What the dates service needs to know about one subscription and its plan.

    ``terminated_at`` is set only for a terminated subscription. ``successor`` says how the
    subscription's next (non-canceled) subscription relates to it: ``"upgrade"`` (new yearly
    amount ≥ current), ``"downgrade"`` or ``None``. ``timezone`` is the applicable timezone
    (customer → billing entity → UTC, chosen by the caller).
    """

    interval: Interval
    billing_time: BillingTime
    pay_in_advance: bool
    timezone: str
    subscription_at: datetime
    started_at: datetime
    terminated_at: datetime | None = None
    successor: PlanChange | None = None
    bill_charges_monthly: bool = False
    bill_fixed_charges_monthly: bool = False

    def __post_init__(self) -> None:
        check_interval(self.interval)
        check_billing_time(self.billing_time)
        for name in ("subscription_at", "started_at", "terminated_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_utc(value))

    @property
    def anniversary_date(self) -> date:
        """``subscription_at`` as a date in the customer's timezone (the anniversary)."""
        return local_date(self.subscription_at, self.timezone)

    @property
    def charges_interval(self) -> Interval:
        """Interval of the usage periods (monthly for split semiannual/yearly plans)."""
        return "monthly" if self._split(self.bill_charges_monthly) else self.interval

    @property
    def fixed_charges_interval(self) -> Interval:
        """Interval of the fixed-charge periods (monthly for split semiannual/yearly plans)."""
        return "monthly" if self._split(self.bill_fixed_charges_monthly) else self.interval

    def period_containing(self, day: date, interval: Interval | None = None) -> Period:
        return period_containing(day, interval or self.interval, self.billing_time, self.anniversary_date)

    def terminated_by(self, moment: datetime) -> bool:
        """Terminated, at or before ``moment``."""
        return self.terminated_at is not None and self.terminated_at <= as_utc(moment)

    def _split(self, flag: bool) -> bool:
        return flag and self.interval in MONTHLY_SPLIT_INTERVALS


@dataclass(frozen=True, slots=True)
class BillingDates:
    """Boundaries of one invoice-subscription (all UTC; ``*_to`` are inclusive instants).

    ``charges_*`` / ``fixed_charges_*`` are ``None`` on the cycles of a monthly-split plan that do
    not bill them (§3.4). Durations are the days of the *whole* usage / fixed-charge period.
    The ``*_period`` fields are the unclamped local-day periods the datetimes come from.
    """

    timestamp: datetime
    billing_date: date
    from_datetime: datetime
    to_datetime: datetime
    charges_from_datetime: datetime | None
    charges_to_datetime: datetime | None
    charges_duration: int
    fixed_charges_from_datetime: datetime | None
    fixed_charges_to_datetime: datetime | None
    fixed_charges_duration: int
    fee_period: Period
    charges_period: Period
    fixed_charges_period: Period

    @property
    def duration(self) -> int:
        """Days of the whole subscription-fee period (denominator of the fee's day price)."""
        return self.fee_period.days


def base_date(
    billing_date: date, interval: Interval, billing_time: BillingTime, anniversary_date: date
) -> date:
    """``billing_date`` one interval back: a day inside the period being closed.

    Months are clamped (Mar 31 − 1 month = Feb 29). For anniversary billing on the last day of a
    month shorter than the anniversary day, the base is the anniversary day of the earlier month
    (clamped): S = 31, billed Apr 30 → Mar 31.
    """
    if check_interval(interval) == "weekly":
        return billing_date - timedelta(weeks=1)
    shifted = shift_months(billing_date, -MONTHS_PER_PERIOD[interval])
    if (
        billing_time == "anniversary"
        and is_last_day_of_month(billing_date)
        and billing_date.day < anniversary_date.day
    ):
        return shifted.replace(day=min(anniversary_date.day, days_in_month(shifted.year, shifted.month)))
    return shifted


def billing_dates(
    schedule: Schedule,
    billing_at: datetime,
    *,
    current_usage: bool = False,
    previous_charges_to: datetime | None = None,
    previous_fixed_charges_to: datetime | None = None,
) -> BillingDates:
    """:func:`compute_billing_dates`, remembered: a billing run asks it for thousands of
    subscriptions of a few schedules (plan, anniversary, timezone) at the same instant, and both
    its arguments and its result are immutable values."""
    return _remembered_billing_dates(
        schedule,
        as_utc(billing_at),
        current_usage,
        None if previous_charges_to is None else as_utc(previous_charges_to),
        None if previous_fixed_charges_to is None else as_utc(previous_fixed_charges_to),
    )


@lru_cache(maxsize=4096)
def _remembered_billing_dates(
    schedule: Schedule,
    billing_at: datetime,
    current_usage: bool,
    previous_charges_to: datetime | None,
    previous_fixed_charges_to: datetime | None,
) -> BillingDates:
    return compute_billing_dates(
        schedule,
        billing_at,
        current_usage=current_usage,
        previous_charges_to=previous_charges_to,
        previous_fixed_charges_to=previous_fixed_charges_to,
    )


def compute_billing_dates(
    schedule: Schedule,
    billing_at: datetime,
    *,
    current_usage: bool = False,
    previous_charges_to: datetime | None = None,
    previous_fixed_charges_to: datetime | None = None,
) -> BillingDates:
    """The dates service: boundaries for billing ``schedule`` at ``billing_at``.

    ``current_usage`` measures the period holding the billing date instead of closing the
    previous one (current usage, progressive billing, the old subscription of an upgrade).
    ``previous_charges_to`` / ``previous_fixed_charges_to``: the last invoice-subscription's
    bounds, to pass only when the customer's timezone changed since that invoice; a usage period
    then starts right after them (1µs later) when they are within 26 hours of the new start.
    """
    billing_at = as_utc(billing_at)
    tz = schedule.timezone
    billing_date = local_date(billing_at, tz)
    terminated_now = schedule.terminated_by(billing_at)
    # Closed for good (no successor): its usage ends within the current period.
    closing = terminated_now and schedule.successor is None
    # An arrears fee ended by a termination or an upgrade covers the current (partial) period;
    # after a downgrade the old subscription closes its last full period as usual.
    arrears_closing = terminated_now and not schedule.pay_in_advance and schedule.successor != "downgrade"

    def base(interval: Interval) -> date:
        if current_usage:
            return billing_date
        return base_date(billing_date, interval, schedule.billing_time, schedule.anniversary_date)

    fee_day = billing_date if schedule.pay_in_advance or arrears_closing else base(schedule.interval)
    fee_period = schedule.period_containing(fee_day)

    def usage_period(interval: Interval) -> Period:
        day = billing_date if closing or arrears_closing else base(interval)
        return schedule.period_containing(day, interval)

    charges_period = usage_period(schedule.charges_interval)
    fixed_period = usage_period(schedule.fixed_charges_interval)
    fill_charges, fill_fixed = _filled_boundaries(schedule, billing_date, current_usage)

    charges_from, charges_to = _usage_bounds(schedule, charges_period, previous_charges_to)
    fixed_from, fixed_to = _usage_bounds(schedule, fixed_period, previous_fixed_charges_to)
    return BillingDates(
        timestamp=billing_at,
        billing_date=billing_date,
        from_datetime=_fee_from(schedule, fee_period),
        to_datetime=_fee_to(schedule, fee_period, terminated_now),
        charges_from_datetime=charges_from if fill_charges else None,
        charges_to_datetime=charges_to if fill_charges else None,
        charges_duration=charges_period.days,
        fixed_charges_from_datetime=fixed_from if fill_fixed else None,
        fixed_charges_to_datetime=fixed_to if fill_fixed else None,
        fixed_charges_duration=fixed_period.days,
        fee_period=fee_period,
        charges_period=charges_period,
        fixed_charges_period=fixed_period,
    )


def _fee_from(schedule: Schedule, period: Period) -> datetime:
    start = day_start_utc(period.start, schedule.timezone)
    if start < schedule.started_at:
        return start_of_local_day(schedule.started_at, schedule.timezone)
    return start


def _fee_to(schedule: Schedule, period: Period, terminated_now: bool) -> datetime:
    end = day_end_utc(period.end, schedule.timezone)
    if terminated_now and schedule.terminated_at is not None and end > schedule.terminated_at:
        end = schedule.terminated_at
    return max(end, schedule.started_at)


def _usage_bounds(
    schedule: Schedule, period: Period, previous_to: datetime | None
) -> tuple[datetime, datetime]:
    start = day_start_utc(period.start, schedule.timezone)
    if previous_to is not None:
        follower = as_utc(previous_to) + ONE_MICROSECOND
        if abs(start - follower) < _TIMEZONE_CHANGE_WINDOW:
            start = follower
    start = max(start, schedule.started_at)
    end = day_end_utc(period.end, schedule.timezone)
    if schedule.terminated_at is not None and schedule.terminated_at <= end:
        end = schedule.terminated_at
    return start, max(end, schedule.started_at)


def _filled_boundaries(schedule: Schedule, billing_date: date, current_usage: bool) -> tuple[bool, bool]:
    """Whether this cycle bills usage charges and fixed charges (§3.4)."""
    if schedule.interval not in MONTHLY_SPLIT_INTERVALS:
        return True, True
    first_month = is_first_month_of_period(
        billing_date, schedule.interval, schedule.billing_time, schedule.anniversary_date
    )
    charges = (
        current_usage
        or schedule.bill_charges_monthly
        or (first_month if schedule.bill_fixed_charges_monthly else True)
    )
    fixed = schedule.bill_fixed_charges_monthly or (first_month if schedule.bill_charges_monthly else True)
    return charges, fixed


def previous_period_on_termination(schedule: Schedule, billing_at: datetime) -> BillingDates | None:
    """§3.8: a termination right after a period end may bill that whole period.

    For a terminated subscription without successor whose termination invoice is billed at
    ``billing_at`` less than one day after the end of the (usage) period that held
    ``billing_at − 1 day``, returns that closed period's boundaries as a regular billing would
    compute them. The caller uses them instead of the partial-period boundaries unless a
    *recurring* invoice-subscription with the same ``from/to`` (and, for monthly-split plans,
    the same charges / fixed-charges bounds) already exists. Otherwise ``None``.
    """
    billing_at = as_utc(billing_at)
    if schedule.terminated_at is None or schedule.successor is not None:
        return None
    if billing_at - _ONE_DAY < schedule.started_at:
        return None
    active = replace(schedule, terminated_at=None)
    probe = billing_dates(active, billing_at - _ONE_DAY, current_usage=True)
    for end in (probe.charges_to_datetime, probe.fixed_charges_to_datetime):
        if end is not None and (billing_at < end or billing_at - end >= _ONE_DAY):
            return None
    return billing_dates(active, billing_at)


def _never_billed(_: BillingDates) -> bool:
    return False


def invoice_billing_dates(
    schedule: Schedule,
    billing_at: datetime,
    *,
    progressive_billing: bool = False,
    already_billed: Callable[[BillingDates], bool] = _never_billed,
    previous_charges_to: datetime | None = None,
    previous_fixed_charges_to: datetime | None = None,
) -> BillingDates:
    """Boundaries of a subscription on an invoice billed at ``billing_at``.

    The dates service plus the invoice-level rules: progressive billing and the old subscription
    of an upgrade measure the current period; a termination on a period boundary bills the
    whole previous period when ``already_billed(candidate)`` is false (see
    :func:`previous_period_on_termination`).
    """
    upgraded_away = schedule.terminated_by(billing_at) and schedule.successor == "upgrade"
    candidate = previous_period_on_termination(schedule, billing_at)
    if candidate is not None and not already_billed(candidate):
        return candidate
    return billing_dates(
        schedule,
        billing_at,
        current_usage=progressive_billing or upgraded_away,
        previous_charges_to=previous_charges_to,
        previous_fixed_charges_to=previous_fixed_charges_to,
    )


def previous_beginning_of_period(
    schedule: Schedule, billing_at: datetime, *, current_period: bool = False
) -> datetime:
    """Start (UTC) of the period being closed at ``billing_at`` (or of the current one)."""
    billing_date = local_date(billing_at, schedule.timezone)
    day = (
        billing_date
        if current_period
        else base_date(billing_date, schedule.interval, schedule.billing_time, schedule.anniversary_date)
    )
    return day_start_utc(schedule.period_containing(day).start, schedule.timezone)


def end_of_current_period(schedule: Schedule, at: datetime) -> datetime:
    """Last instant (UTC) of the period holding ``at``'s local date."""
    period = schedule.period_containing(local_date(at, schedule.timezone))
    return day_end_utc(period.end, schedule.timezone)


def downgrade_plan_date(schedule: Schedule, at: datetime) -> date:
    """Local date a pending downgrade takes effect: the day after the current period ends."""
    return schedule.period_containing(local_date(at, schedule.timezone)).end + _ONE_DAY
