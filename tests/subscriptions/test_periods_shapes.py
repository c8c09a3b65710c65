"""Period shapes (billing.md §3.3) and durations (§3.5)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import islice, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billow.subscriptions.periods import (
    BILLING_TIMES,
    INTERVALS,
    BillingTime,
    Interval,
    Period,
    is_first_month_of_period,
    iter_periods,
    next_period,
    period_containing,
    period_duration_days,
    previous_period,
)

D = date.fromisoformat


def P(start: str, end: str) -> Period:
    return Period(D(start), D(end))


@pytest.mark.parametrize(
    ("day", "interval", "expected"),
    [
        ("2023-06-16", "weekly", P("2023-06-12", "2023-06-18")),  # Friday → Monday–Sunday
        ("2024-01-01", "weekly", P("2024-01-01", "2024-01-07")),  # a Monday starts its week
        ("2023-06-18", "weekly", P("2023-06-12", "2023-06-18")),  # a Sunday ends it
        ("2024-02-10", "monthly", P("2024-02-01", "2024-02-29")),
        ("2023-02-10", "monthly", P("2023-02-01", "2023-02-28")),
        ("2023-02-04", "quarterly", P("2023-01-01", "2023-03-31")),
        ("2024-05-15", "quarterly", P("2024-04-01", "2024-06-30")),
        ("2024-12-31", "quarterly", P("2024-10-01", "2024-12-31")),
        ("2024-03-01", "semiannual", P("2024-01-01", "2024-06-30")),
        ("2024-08-10", "semiannual", P("2024-07-01", "2024-12-31")),
        ("2024-08-10", "yearly", P("2024-01-01", "2024-12-31")),
    ],
)
def test_calendar_periods(day: str, interval: Interval, expected: Period) -> None:
    assert period_containing(D(day), interval, "calendar") == expected
    # the anniversary date is ignored for calendar billing
    assert period_containing(D(day), interval, "calendar", D("2020-05-17")) == expected


def test_anniversary_billing_needs_the_anniversary_date() -> None:
    with pytest.raises(ValueError):
        period_containing(D("2024-01-01"), "monthly", "anniversary")


def test_unknown_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        period_containing(D("2024-01-01"), "daily", "calendar")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        period_containing(D("2024-01-01"), "monthly", "whenever")  # type: ignore[arg-type]


def test_weekly_anniversary_starts_on_the_subscription_weekday() -> None:
    thursday = D("2023-06-15")
    assert period_containing(D("2023-06-20"), "weekly", "anniversary", thursday) == P(
        "2023-06-15", "2023-06-21"
    )
    assert period_containing(D("2023-06-22"), "weekly", "anniversary", thursday) == P(
        "2023-06-22", "2023-06-28"
    )
    assert period_containing(D("2023-06-14"), "weekly", "anniversary", thursday) == P(
        "2023-06-08", "2023-06-14"
    )


def test_month_end_anniversary_is_clamped_again_every_period() -> None:
    # §3.3: S = 2024-01-31 → 01-31→02-28, 02-29→03-30, 03-31→04-29 (billed 02-29, 03-31, 04-30)
    s = D("2024-01-31")
    periods = list(islice(iter_periods(D("2024-02-01"), "monthly", "anniversary", s), 14))
    assert periods == [
        P("2024-01-31", "2024-02-28"),
        P("2024-02-29", "2024-03-30"),
        P("2024-03-31", "2024-04-29"),
        P("2024-04-30", "2024-05-30"),
        P("2024-05-31", "2024-06-29"),
        P("2024-06-30", "2024-07-30"),
        P("2024-07-31", "2024-08-30"),
        P("2024-08-31", "2024-09-29"),
        P("2024-09-30", "2024-10-30"),
        P("2024-10-31", "2024-11-29"),
        P("2024-11-30", "2024-12-30"),
        P("2024-12-31", "2025-01-30"),
        P("2025-01-31", "2025-02-27"),  # common year: February's anniversary is the 28th
        P("2025-02-28", "2025-03-30"),
    ]


def test_anniversary_on_the_30th() -> None:
    # §3.3: S = 2022-04-30 → billed 2023-01-30, 02-28, 03-30 …, 2024-02-29
    s = D("2022-04-30")
    assert period_containing(D("2023-02-01"), "monthly", "anniversary", s) == P("2023-01-30", "2023-02-27")
    assert period_containing(D("2023-03-01"), "monthly", "anniversary", s) == P("2023-02-28", "2023-03-29")
    assert period_containing(D("2023-03-30"), "monthly", "anniversary", s) == P("2023-03-30", "2023-04-29")
    assert period_containing(D("2024-02-28"), "monthly", "anniversary", s) == P("2024-01-30", "2024-02-28")
    assert period_containing(D("2024-02-29"), "monthly", "anniversary", s) == P("2024-02-29", "2024-03-29")
    # Ex22: an advance subscription on 2024-01-30 first covers 01-30→02-28, then 02-29→03-29
    assert period_containing(D("2024-01-30"), "monthly", "anniversary", D("2024-01-30")) == P(
        "2024-01-30", "2024-02-28"
    )


def test_anniversary_on_the_28th_bills_the_28th_every_month() -> None:
    s = D("2022-02-28")
    for month_start in ("2022-03-28", "2022-04-28", "2024-02-28", "2024-03-28"):
        assert period_containing(D(month_start), "monthly", "anniversary", s).start == D(month_start)
    assert period_containing(D("2024-02-29"), "monthly", "anniversary", s) == P("2024-02-28", "2024-03-27")


def test_anniversary_on_the_first_ends_with_the_month() -> None:
    s = D("2022-01-01")
    assert period_containing(D("2022-02-15"), "monthly", "anniversary", s) == P("2022-02-01", "2022-02-28")
    assert period_containing(D("2022-02-15"), "quarterly", "anniversary", D("2021-10-01")) == P(
        "2022-01-01", "2022-03-31"
    )


def test_quarterly_anniversary() -> None:
    s = D("2023-11-30")  # quarters start Nov 30, Feb 28/29, May 30, Aug 30
    assert period_containing(D("2024-01-15"), "quarterly", "anniversary", s) == P("2023-11-30", "2024-02-28")
    assert period_containing(D("2024-03-01"), "quarterly", "anniversary", s) == P("2024-02-29", "2024-05-29")
    assert period_containing(D("2024-05-30"), "quarterly", "anniversary", s) == P("2024-05-30", "2024-08-29")
    assert period_containing(D("2025-02-28"), "quarterly", "anniversary", s) == P("2025-02-28", "2025-05-29")
    march = D("2024-03-15")  # quarters start Mar, Jun, Sep, Dec 15
    assert period_containing(D("2024-02-10"), "quarterly", "anniversary", march) == P(
        "2023-12-15", "2024-03-14"
    )
    # Lago's quarterly vectors (current-usage view: the quarter holding the day)
    april = D("2023-04-06")
    assert period_containing(D("2023-08-08"), "quarterly", "anniversary", april).start == D("2023-07-06")
    assert period_containing(D("2023-08-04"), "quarterly", "anniversary", april).start == D("2023-07-06")
    assert period_containing(D("2022-02-27"), "quarterly", "anniversary", D("2021-02-28")).start == D(
        "2021-11-28"
    )
    assert period_containing(D("2022-05-29"), "quarterly", "anniversary", D("2021-05-30")).start == D(
        "2022-02-28"
    )


def test_semiannual_anniversary() -> None:
    s = D("2023-08-31")  # halves start Aug 31 and Feb 28/29
    assert period_containing(D("2024-01-01"), "semiannual", "anniversary", s) == P("2023-08-31", "2024-02-28")
    assert period_containing(D("2024-02-29"), "semiannual", "anniversary", s) == P("2024-02-29", "2024-08-30")
    assert period_containing(D("2025-03-01"), "semiannual", "anniversary", s) == P("2025-02-28", "2025-08-30")


def test_yearly_anniversary_on_february_29() -> None:
    s = D("2024-02-29")
    periods = list(islice(iter_periods(s, "yearly", "anniversary", s), 5))
    assert periods == [
        P("2024-02-29", "2025-02-27"),
        P("2025-02-28", "2026-02-27"),
        P("2026-02-28", "2027-02-27"),
        P("2027-02-28", "2028-02-28"),
        P("2028-02-29", "2029-02-27"),
    ]
    assert [p.days for p in periods] == [365, 365, 365, 366, 365]


def test_yearly_anniversary_examples() -> None:
    # Ex4 / Ex5: anniversary years holding Feb 29 2024 have 366 days
    assert period_containing(D("2023-09-28"), "yearly", "anniversary", D("2023-06-29")) == P(
        "2023-06-29", "2024-06-28"
    )
    assert period_duration_days(D("2023-09-28"), "yearly", "anniversary", D("2023-06-29")) == 366
    assert period_containing(D("2023-11-19"), "yearly", "anniversary", D("2023-07-19")) == P(
        "2023-07-19", "2024-07-18"
    )
    assert period_containing(D("2024-07-19"), "yearly", "anniversary", D("2023-07-19")).days == 365


@pytest.mark.parametrize(
    ("day", "interval", "billing_time", "anniversary", "days"),
    [
        ("2023-02-01", "weekly", "calendar", None, 7),
        ("2024-02-12", "monthly", "calendar", None, 29),  # Ex6
        ("2023-02-08", "monthly", "calendar", None, 28),  # Ex2
        ("2022-12-15", "monthly", "calendar", None, 31),  # Ex1
        ("2023-02-04", "quarterly", "calendar", None, 90),  # Ex11 (56/90)
        ("2024-02-04", "quarterly", "calendar", None, 91),
        ("2024-07-04", "semiannual", "calendar", None, 184),
        ("2023-03-04", "semiannual", "calendar", None, 181),
        ("2022-02-01", "yearly", "calendar", None, 365),  # Ex11 (334/365)
        ("2024-02-01", "yearly", "calendar", None, 366),
        ("2023-09-05", "monthly", "anniversary", "2023-09-05", 30),  # Ex21
        ("2023-06-29", "monthly", "anniversary", "2023-06-29", 30),  # Ex4: 06-29 → 07-28
        ("2023-08-29", "monthly", "anniversary", "2023-06-29", 31),  # Ex4: CN 1000/31
    ],
)
def test_period_duration(
    day: str, interval: Interval, billing_time: BillingTime, anniversary: str | None, days: int
) -> None:
    ann = D(anniversary) if anniversary else None
    assert period_duration_days(D(day), interval, billing_time, ann) == days


def test_next_and_previous_period() -> None:
    s = D("2024-01-31")
    feb = period_containing(D("2024-02-10"), "monthly", "anniversary", s)
    assert next_period(feb, "monthly", "anniversary", s) == P("2024-02-29", "2024-03-30")
    assert previous_period(feb, "monthly", "anniversary", s) == P("2023-12-31", "2024-01-30")


def test_first_month_of_a_yearly_or_semiannual_period() -> None:
    assert is_first_month_of_period(D("2024-01-01"), "yearly", "calendar")
    assert not is_first_month_of_period(D("2024-02-01"), "yearly", "calendar")
    assert is_first_month_of_period(D("2024-07-15"), "semiannual", "calendar")
    assert not is_first_month_of_period(D("2024-08-01"), "semiannual", "calendar")
    s = D("2024-01-31")
    assert is_first_month_of_period(D("2025-02-15"), "yearly", "anniversary", s)  # Jan 31 → Feb 27 2025
    assert not is_first_month_of_period(D("2025-02-28"), "yearly", "anniversary", s)
    assert is_first_month_of_period(D("2024-08-05"), "semiannual", "anniversary", s)  # Jul 31 → Aug 30
    assert is_first_month_of_period(D("2024-05-05"), "monthly", "anniversary", s)
    assert is_first_month_of_period(D("2024-05-05"), "weekly", "calendar")


# --- properties -----------------------------------------------------------------------------

anniversaries = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
days = st.dates(min_value=date(1995, 1, 1), max_value=date(2060, 12, 31))
intervals = st.sampled_from(INTERVALS)
billing_times = st.sampled_from(BILLING_TIMES)


@settings(max_examples=300)
@given(interval=intervals, billing_time=billing_times, anniversary=anniversaries, first=days)
def test_consecutive_periods_tile_time(
    interval: Interval, billing_time: BillingTime, anniversary: date, first: date
) -> None:
    periods = list(islice(iter_periods(first, interval, billing_time, anniversary), 30))
    assert periods[0].includes(first)
    for current, following in pairwise(periods):
        assert current.start <= current.end
        assert current.end + timedelta(days=1) == following.start


@settings(max_examples=500)
@given(interval=intervals, billing_time=billing_times, anniversary=anniversaries, day=days)
def test_period_contains_its_day_and_is_stable(
    interval: Interval, billing_time: BillingTime, anniversary: date, day: date
) -> None:
    period = period_containing(day, interval, billing_time, anniversary)
    assert period.includes(day)
    # every day of the period maps back to the same period
    for member in (period.start, period.end, period.start + (period.end - period.start) / 2):
        assert period_containing(member, interval, billing_time, anniversary) == period
    duration = period_duration_days(day, interval, billing_time, anniversary)
    assert duration == (period.end - period.start).days + 1 == period.days
    bounds = {"weekly": (7, 7), "monthly": (28, 31), "quarterly": (89, 92), "semiannual": (181, 184)}
    low, high = bounds.get(interval, (365, 366))
    assert low <= duration <= high


@settings(max_examples=300)
@given(interval=intervals, anniversary=anniversaries, day=days)
def test_anniversary_periods_start_on_the_clamped_anniversary_day(
    interval: Interval, anniversary: date, day: date
) -> None:
    start = period_containing(day, interval, "anniversary", anniversary).start
    if interval == "weekly":
        assert start.weekday() == anniversary.weekday()
        return
    step = {"monthly": 1, "quarterly": 3, "semiannual": 6, "yearly": 12}[interval]
    assert (start.month - anniversary.month) % step == 0
    next_day = start + timedelta(days=1)
    assert start.day == anniversary.day or (start.day < anniversary.day and next_day.month != start.month)
