"""Billing days (billing.md §3.1), checked against the table and against the period shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billow.subscriptions.periods import (
    BILLING_TIMES,
    INTERVALS,
    BillingTime,
    Interval,
    is_billing_day,
    local_date,
    period_containing,
)

D = date.fromisoformat


def billed_days(
    start: str,
    end: str,
    interval: Interval,
    billing_time: BillingTime,
    anniversary: str | None = None,
    *,
    charges_monthly: bool = False,
    fixed_monthly: bool = False,
) -> list[str]:
    ann = D(anniversary) if anniversary else None
    day, last, out = D(start), D(end), []
    while day <= last:
        if is_billing_day(day, interval, billing_time, ann, charges_monthly, fixed_monthly):
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def test_calendar_weekly_bills_on_mondays() -> None:
    assert billed_days("2024-01-01", "2024-01-21", "weekly", "calendar") == [
        "2024-01-01",
        "2024-01-08",
        "2024-01-15",
    ]


def test_calendar_monthly_quarterly_semiannual_yearly() -> None:
    assert billed_days("2024-01-01", "2024-04-30", "monthly", "calendar") == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]
    assert billed_days("2024-01-01", "2024-12-31", "quarterly", "calendar") == [
        "2024-01-01",
        "2024-04-01",
        "2024-07-01",
        "2024-10-01",
    ]
    assert billed_days("2024-01-01", "2024-12-31", "semiannual", "calendar") == ["2024-01-01", "2024-07-01"]
    assert billed_days("2023-01-01", "2024-12-31", "yearly", "calendar") == ["2023-01-01", "2024-01-01"]


def test_monthly_split_bills_every_first_of_month() -> None:
    every_first = [f"2024-{m:02d}-01" for m in range(1, 13)]
    for interval in ("semiannual", "yearly"):
        assert (
            billed_days("2024-01-01", "2024-12-31", interval, "calendar", charges_monthly=True) == every_first
        )
        assert (
            billed_days("2024-01-01", "2024-12-31", interval, "calendar", fixed_monthly=True) == every_first
        )
    # the flags mean nothing for the other intervals
    assert billed_days("2024-01-01", "2024-12-31", "quarterly", "calendar", charges_monthly=True) == [
        "2024-01-01",
        "2024-04-01",
        "2024-07-01",
        "2024-10-01",
    ]


def test_weekly_anniversary_bills_on_the_subscription_weekday() -> None:
    assert billed_days("2023-06-15", "2023-07-02", "weekly", "anniversary", "2023-06-15") == [
        "2023-06-15",
        "2023-06-22",
        "2023-06-29",
    ]


def test_monthly_anniversary_on_the_31st() -> None:
    # §3.3: S = 2024-01-31 is billed 02-29, 03-31, 04-30 …
    assert billed_days("2024-02-01", "2024-06-30", "monthly", "anniversary", "2024-01-31") == [
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
        "2024-06-30",
    ]
    assert billed_days("2025-02-01", "2025-02-28", "monthly", "anniversary", "2024-01-31") == ["2025-02-28"]


def test_monthly_anniversary_on_the_30th_and_28th() -> None:
    # §3.3: S = 2022-04-30 → billed 2023-01-30, 02-28, 03-30 …, 2024-02-29
    assert billed_days("2023-01-01", "2023-03-31", "monthly", "anniversary", "2022-04-30") == [
        "2023-01-30",
        "2023-02-28",
        "2023-03-30",
    ]
    assert billed_days("2024-02-01", "2024-02-29", "monthly", "anniversary", "2022-04-30") == ["2024-02-29"]
    # S = 2022-02-28 → billed on the 28th every month, leap years included
    assert billed_days("2024-01-01", "2024-03-31", "monthly", "anniversary", "2022-02-28") == [
        "2024-01-28",
        "2024-02-28",
        "2024-03-28",
    ]


def test_quarterly_anniversary() -> None:
    assert billed_days("2024-01-01", "2025-03-31", "quarterly", "anniversary", "2023-11-30") == [
        "2024-02-29",
        "2024-05-30",
        "2024-08-30",
        "2024-11-30",
        "2025-02-28",
    ]
    # anniversary month divisible by 3: March, June, September, December
    assert billed_days("2024-01-01", "2024-12-31", "quarterly", "anniversary", "2023-12-15") == [
        "2024-03-15",
        "2024-06-15",
        "2024-09-15",
        "2024-12-15",
    ]


def test_semiannual_anniversary() -> None:
    assert billed_days("2024-01-01", "2025-03-31", "semiannual", "anniversary", "2023-08-31") == [
        "2024-02-29",
        "2024-08-31",
        "2025-02-28",
    ]
    assert billed_days(
        "2024-09-01", "2024-12-31", "semiannual", "anniversary", "2023-08-31", charges_monthly=True
    ) == [
        "2024-09-30",
        "2024-10-31",
        "2024-11-30",
        "2024-12-31",
    ]


def test_yearly_anniversary_february_29() -> None:
    leap = "2024-02-29"
    assert billed_days("2025-01-01", "2025-12-31", "yearly", "anniversary", leap) == ["2025-02-28"]
    assert billed_days("2028-01-01", "2028-12-31", "yearly", "anniversary", leap) == ["2028-02-29"]
    assert billed_days("2024-01-01", "2024-12-31", "yearly", "anniversary", "2023-02-28") == ["2024-02-28"]


def test_yearly_anniversary_with_monthly_charges() -> None:
    assert billed_days("2024-02-01", "2024-04-30", "yearly", "anniversary", "2024-01-31") == []
    assert billed_days(
        "2024-02-01", "2024-04-30", "yearly", "anniversary", "2024-01-31", fixed_monthly=True
    ) == [
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
    ]


def test_anniversary_needs_the_subscription_date() -> None:
    with pytest.raises(ValueError):
        is_billing_day(D("2024-01-01"), "monthly", "anniversary", None)


@pytest.mark.parametrize(
    ("instant", "tz", "billed"),
    [
        # 2024-03-01T03:00Z is still Feb 29 in Los Angeles (UTC−8) but already Mar 1 in Tokyo (UTC+9)
        ("2024-03-01T03:00:00", "UTC", True),
        ("2024-03-01T03:00:00", "America/Los_Angeles", False),
        ("2024-03-01T03:00:00", "Asia/Tokyo", True),
        # 2024-02-29T20:00Z: Tokyo's billing day has come, UTC's has not
        ("2024-02-29T20:00:00", "UTC", False),
        ("2024-02-29T20:00:00", "Asia/Tokyo", True),
        # 2024-03-01T09:00Z is 01:00 on Mar 1 in Los Angeles
        ("2024-03-01T09:00:00", "America/Los_Angeles", True),
    ],
)
def test_billing_day_is_evaluated_in_the_customer_timezone(instant: str, tz: str, billed: bool) -> None:
    today = local_date(datetime.fromisoformat(instant).replace(tzinfo=UTC), tz)
    assert is_billing_day(today, "monthly", "calendar") is billed


def test_anniversary_weekday_in_the_customer_timezone() -> None:
    # subscribed 2023-06-16T05:00Z: Thursday in Denver, Friday in UTC
    subscribed = datetime(2023, 6, 16, 5, tzinfo=UTC)
    denver = local_date(subscribed, "America/Denver")
    assert denver.isoweekday() == 4
    assert is_billing_day(D("2023-06-22"), "weekly", "anniversary", denver)
    assert not is_billing_day(D("2023-06-22"), "weekly", "anniversary", local_date(subscribed, "UTC"))


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=400)
@given(
    interval=st.sampled_from(INTERVALS),
    billing_time=st.sampled_from(BILLING_TIMES),
    anniversary=st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)),
    day=st.dates(min_value=date(1995, 1, 1), max_value=date(2060, 12, 31)),
    charges_monthly=st.booleans(),
    fixed_monthly=st.booleans(),
)
def test_billing_days_are_exactly_the_days_after_a_period_end(
    interval: Interval,
    billing_time: BillingTime,
    anniversary: date,
    day: date,
    charges_monthly: bool,
    fixed_monthly: bool,
) -> None:
    split = interval in ("semiannual", "yearly") and (charges_monthly or fixed_monthly)
    shape: Interval = "monthly" if split else interval
    period_ended_yesterday = period_containing(day - timedelta(days=1), shape, billing_time, anniversary).end
    expected = period_ended_yesterday + timedelta(days=1) == day
    assert (
        is_billing_day(day, interval, billing_time, anniversary, charges_monthly, fixed_monthly) is expected
    )
    # and a period always starts on a billing day
    start = period_containing(day, shape, billing_time, anniversary).start
    assert is_billing_day(start, interval, billing_time, anniversary, charges_monthly, fixed_monthly)
