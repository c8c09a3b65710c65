"""The dates service (billing.md §3.2, §3.4, §3.8) and the §8 examples that pin boundaries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import islice, pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billow.subscriptions.periods import (
    BILLING_TIMES,
    INTERVALS,
    BillingDates,
    BillingTime,
    Interval,
    Schedule,
    base_date,
    billing_dates,
    day_end_utc,
    day_start_utc,
    downgrade_plan_date,
    end_of_current_period,
    invoice_billing_dates,
    iter_periods,
    local_date,
    previous_beginning_of_period,
    previous_period_on_termination,
)

D = date.fromisoformat
END = "T23:59:59.999999"


def utc(text: str) -> datetime:
    if "T" not in text:
        text += "T00:00:00"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def schedule(
    interval: Interval = "monthly",
    billing_time: BillingTime = "calendar",
    *,
    subscription_at: str = "2021-02-02",
    started_at: str | None = None,
    pay_in_advance: bool = False,
    tz: str = "UTC",
    terminated_at: str | None = None,
    **extra: object,
) -> Schedule:
    return Schedule(
        interval=interval,
        billing_time=billing_time,
        pay_in_advance=pay_in_advance,
        timezone=tz,
        subscription_at=utc(subscription_at),
        started_at=utc(started_at or subscription_at),
        terminated_at=utc(terminated_at) if terminated_at else None,
        **extra,  # type: ignore[arg-type]
    )


def bounds(dates: BillingDates) -> tuple[datetime | None, ...]:
    return (
        dates.from_datetime,
        dates.to_datetime,
        dates.charges_from_datetime,
        dates.charges_to_datetime,
    )


def expect(
    from_: str, to: str, charges_from: str | None = None, charges_to: str | None = None
) -> tuple[datetime, ...]:
    return (utc(from_), utc(to), utc(charges_from or from_), utc(charges_to or to))


# --- monthly ----------------------------------------------------------------------------------


def test_monthly_calendar_in_arrears_closes_the_previous_month() -> None:
    dates = billing_dates(schedule(), utc("2022-03-01T00:10:00"))
    assert bounds(dates) == expect("2022-02-01", "2022-02-28" + END)
    assert dates.billing_date == D("2022-03-01")
    assert dates.duration == dates.charges_duration == dates.fixed_charges_duration == 28
    assert dates.fixed_charges_from_datetime == dates.charges_from_datetime
    assert dates.fixed_charges_to_datetime == dates.charges_to_datetime


def test_monthly_calendar_in_new_york() -> None:
    # 2022-03-01T00:00Z is still Feb 28 in New York: the closed month is January
    dates = billing_dates(schedule(tz="America/New_York"), utc("2022-03-01"))
    assert bounds(dates) == expect("2022-01-01T05:00:00", "2022-02-01T04:59:59.999999")


def test_customer_at_utc_minus_8_and_utc_plus_9() -> None:
    tokyo = billing_dates(schedule(tz="Asia/Tokyo"), utc("2024-02-29T16:00:00"))  # Mar 1, 01:00 in Tokyo
    assert tokyo.billing_date == D("2024-03-01")
    assert bounds(tokyo) == expect("2024-01-31T15:00:00", "2024-02-29T14:59:59.999999")
    la = billing_dates(schedule(tz="America/Los_Angeles"), utc("2024-03-01T08:10:00"))  # Mar 1, 00:10 in LA
    assert la.billing_date == D("2024-03-01")
    assert bounds(la) == expect("2024-02-01T08:00:00", "2024-03-01T07:59:59.999999")
    assert la.duration == 29


def test_started_mid_period_clamps_fee_to_day_start_and_charges_to_exact_start() -> None:
    sub = schedule(subscription_at="2022-02-07T05:00:00")
    dates = billing_dates(sub, utc("2022-03-01"))
    assert bounds(dates) == expect("2022-02-07", "2022-02-28" + END, "2022-02-07T05:00:00")
    ny = billing_dates(replace(sub, timezone="America/New_York"), utc("2022-03-01T05:00:00"))
    assert ny.from_datetime == utc("2022-02-07T05:00:00")  # 00:00 in New York
    # the whole period's length stays the denominator
    assert dates.duration == dates.charges_duration == 28


def test_terminated_in_arrears_bills_the_current_partial_period() -> None:
    # Lago spec: calendar, terminated 03-09, billed 03-10 → from the start of March to the termination
    sub = schedule(terminated_at="2022-03-09")
    dates = billing_dates(sub, utc("2022-03-10"))
    assert bounds(dates) == expect("2022-03-01", "2022-03-09")
    advance = billing_dates(replace(sub, pay_in_advance=True), utc("2022-03-10"))
    assert advance.from_datetime == utc("2022-03-01")
    assert advance.to_datetime == utc("2022-03-09")


def test_termination_after_the_billing_time_is_ignored_by_the_fee() -> None:
    # terminated_at later than the billing time: the fee period is the regular one
    sub = schedule("monthly", "anniversary", subscription_at="2021-03-27", terminated_at="2022-03-09")
    dates = billing_dates(sub, utc("2022-01-28"))
    assert dates.from_datetime == utc("2021-12-27")
    assert dates.to_datetime == utc("2022-01-26" + END)


def test_monthly_anniversary() -> None:
    sub = schedule(billing_time="anniversary")
    assert bounds(billing_dates(sub, utc("2022-03-02"))) == expect("2022-02-02", "2022-03-01" + END)
    assert billing_dates(sub, utc("2022-01-04")).to_datetime == utc("2022-01-01" + END)
    advance = billing_dates(replace(sub, pay_in_advance=True), utc("2022-03-02"))
    assert advance.to_datetime == utc("2022-04-01" + END)
    assert (advance.charges_from_datetime, advance.charges_to_datetime) == (
        utc("2022-02-02"),
        utc("2022-03-01" + END),
    )
    # anniversary on the 1st: periods are calendar months
    first = schedule(billing_time="anniversary", subscription_at="2022-01-01")
    assert billing_dates(first, utc("2022-03-02")).to_datetime == utc("2022-02-28" + END)


@pytest.mark.parametrize("subscribed", ["2022-01-31", "2022-01-30"])
def test_monthly_anniversary_past_the_end_of_february(subscribed: str) -> None:
    sub = schedule(billing_time="anniversary", subscription_at=subscribed)
    assert billing_dates(sub, utc("2022-02-28")).to_datetime == utc("2022-02-27" + END)


@pytest.mark.parametrize(
    ("billing_at", "subscription_at", "pay_in_advance", "terminated_at", "expected_from"),
    [
        ("2022-03-29", "2021-03-31", False, "2022-03-09", "2022-02-28"),
        ("2021-04-30", "2021-03-31", True, None, "2021-04-30"),
        ("2020-02-29", "2020-01-31", True, None, "2020-02-29"),
        ("2021-04-30", "2021-03-31", False, None, "2021-03-31"),
        ("2020-03-30", "2019-04-30", False, None, "2020-02-29"),
    ],
)
def test_monthly_anniversary_month_end_vectors(
    billing_at: str, subscription_at: str, pay_in_advance: bool, terminated_at: str | None, expected_from: str
) -> None:
    sub = schedule(
        billing_time="anniversary",
        subscription_at=subscription_at,
        pay_in_advance=pay_in_advance,
        terminated_at=terminated_at,
    )
    assert billing_dates(sub, utc(billing_at)).from_datetime == utc(expected_from)


def test_ex22_boundaries_of_a_31st_anniversary() -> None:
    sub = schedule(billing_time="anniversary", subscription_at="2024-01-31T01:00:00")
    feb = billing_dates(sub, utc("2024-02-29T00:10:00"))
    assert bounds(feb) == expect("2024-01-31", "2024-02-28" + END, "2024-01-31T01:00:00")
    mar = billing_dates(sub, utc("2024-03-31T00:10:00"))
    assert bounds(mar) == expect("2024-02-29", "2024-03-30" + END)
    apr = billing_dates(sub, utc("2024-04-30T00:10:00"))
    assert bounds(apr) == expect("2024-03-31", "2024-04-29" + END)
    assert (feb.duration, mar.duration, apr.duration) == (29, 31, 30)


def test_ex22_advance_anniversary_and_leap_calendar() -> None:
    sub = schedule(billing_time="anniversary", subscription_at="2024-01-30", pay_in_advance=True)
    first = billing_dates(sub, utc("2024-01-30"))
    assert (first.from_datetime, first.to_datetime) == (utc("2024-01-30"), utc("2024-02-28" + END))
    second = billing_dates(sub, utc("2024-02-29T00:10:00"))
    assert bounds(second) == expect("2024-02-29", "2024-03-29" + END, "2024-01-30", "2024-02-28" + END)
    leap = schedule(subscription_at="2023-12-01", pay_in_advance=True)
    dates = billing_dates(leap, utc("2024-02-01T00:10:00"))
    assert bounds(dates) == expect("2024-02-01", "2024-02-29" + END, "2024-01-01", "2024-01-31" + END)
    assert (dates.duration, dates.charges_duration) == (29, 31)


def test_pay_in_advance_starting_invoice_has_an_empty_usage_window() -> None:
    # Ex2: created 2023-02-08, pay in advance: fee 02-08 → 02-28; the previous month is before the start
    sub = schedule(subscription_at="2023-02-08T10:00:00", pay_in_advance=True)
    dates = billing_dates(sub, utc("2023-02-08T10:00:00"))
    assert (dates.from_datetime, dates.to_datetime) == (utc("2023-02-08"), utc("2023-02-28" + END))
    assert dates.charges_from_datetime == dates.charges_to_datetime == utc("2023-02-08T10:00:00")


def test_ex3_weekly_pay_in_advance_in_four_timezones() -> None:
    for tz, created, from_ in [
        ("America/Denver", "2023-06-16T05:00:00", "2023-06-15T06:00:00"),  # Thursday
        ("America/Halifax", "2023-06-16T05:00:00", "2023-06-16T03:00:00"),  # Friday
        ("Europe/Paris", "2023-06-16T20:00:00", "2023-06-15T22:00:00"),  # Friday
        ("Asia/Karachi", "2023-06-16T20:00:00", "2023-06-16T19:00:00"),  # Saturday
    ]:
        sub = schedule("weekly", subscription_at=created, pay_in_advance=True, tz=tz)
        dates = billing_dates(sub, utc(created))
        assert dates.from_datetime == utc(from_), tz
        assert dates.to_datetime == day_end_utc(D("2023-06-18"), tz), tz
        assert dates.duration == 7


# --- quarterly, semiannual, yearly --------------------------------------------------------------


def test_quarterly_calendar() -> None:
    sub = schedule("quarterly")
    assert bounds(billing_dates(sub, utc("2022-07-01"))) == expect("2022-04-01", "2022-06-30" + END)
    ny = billing_dates(replace(sub, timezone="America/New_York"), utc("2022-07-01"))
    assert bounds(ny) == expect("2022-01-01T05:00:00", "2022-04-01T03:59:59.999999")
    advance = billing_dates(replace(sub, pay_in_advance=True), utc("2022-07-01"))
    assert bounds(advance) == expect("2022-07-01", "2022-09-30" + END, "2022-04-01", "2022-06-30" + END)
    assert (advance.duration, advance.charges_duration) == (92, 91)


@pytest.mark.parametrize(
    ("subscription_at", "billing_at", "pay_in_advance", "expected_from", "expected_to"),
    [
        ("2021-02-02", "2022-05-02", False, "2022-02-02", "2022-05-01"),
        ("2021-02-02", "2022-02-02", False, "2021-11-02", "2022-02-01"),
        ("2021-02-02", "2022-05-02", True, "2022-05-02", "2022-08-01"),
        ("2021-11-30", "2022-03-01", False, "2021-11-30", "2022-02-27"),
        ("2022-01-30", "2022-04-30", False, "2022-01-30", "2022-04-29"),
        ("2021-10-01", "2022-04-02", False, "2022-01-01", "2022-03-31"),
        ("2021-02-28", "2022-05-31", False, "2022-02-28", "2022-05-27"),
        ("2021-01-31", "2021-04-30", True, "2021-04-30", "2021-07-30"),
    ],
)
def test_quarterly_anniversary(
    subscription_at: str, billing_at: str, pay_in_advance: bool, expected_from: str, expected_to: str
) -> None:
    sub = schedule("quarterly", "anniversary", subscription_at=subscription_at, pay_in_advance=pay_in_advance)
    dates = billing_dates(sub, utc(billing_at))
    assert (dates.from_datetime, dates.to_datetime) == (utc(expected_from), utc(expected_to + END))


def test_quarterly_anniversary_current_usage_outside_a_billing_month() -> None:
    sub = schedule("quarterly", "anniversary", subscription_at="2023-04-06")
    for day in ("2023-08-08", "2023-08-04"):
        dates = billing_dates(sub, utc(day), current_usage=True)
        assert dates.from_datetime == utc("2023-07-06")
        assert dates.charges_to_datetime == utc("2023-10-05" + END)


def test_semiannual_and_yearly_calendar() -> None:
    semi = billing_dates(schedule("semiannual", subscription_at="2023-03-04"), utc("2023-07-01"))
    assert bounds(semi) == expect("2023-03-04", "2023-06-30" + END)
    assert semi.duration == 181
    yearly = billing_dates(schedule("yearly", subscription_at="2022-02-01"), utc("2023-01-01"))
    assert bounds(yearly) == expect("2022-02-01", "2022-12-31" + END)
    assert yearly.duration == 365


def test_yearly_anniversary_february_29() -> None:
    sub = schedule("yearly", "anniversary", subscription_at="2024-02-29")
    dates = billing_dates(sub, utc("2025-02-28T00:10:00"))
    assert bounds(dates) == expect("2024-02-29", "2025-02-27" + END)
    advance = billing_dates(replace(sub, pay_in_advance=True), utc("2025-02-28T00:10:00"))
    assert (advance.from_datetime, advance.to_datetime) == (utc("2025-02-28"), utc("2026-02-27" + END))
    # the last-day-of-month fix lands on the anniversary itself
    assert base_date(D("2025-02-28"), "yearly", "anniversary", D("2024-02-29")) == D("2024-02-29")
    assert base_date(D("2025-03-31"), "monthly", "anniversary", D("2024-01-31")) == D("2025-02-28")


def test_yearly_with_monthly_charges() -> None:
    sub = schedule("yearly", subscription_at="2023-01-01", bill_charges_monthly=True)
    january = billing_dates(sub, utc("2024-01-01T00:10:00"))
    assert bounds(january) == expect("2023-01-01", "2023-12-31" + END, "2023-12-01", "2023-12-31" + END)
    assert (january.fixed_charges_from_datetime, january.fixed_charges_to_datetime) == (
        utc("2023-01-01"),
        utc("2023-12-31" + END),
    )
    assert (january.charges_duration, january.fixed_charges_duration) == (31, 365)
    march = billing_dates(sub, utc("2024-03-01T00:10:00"))
    assert (march.charges_from_datetime, march.charges_to_datetime) == (
        utc("2024-02-01"),
        utc("2024-02-29" + END),
    )
    assert march.charges_duration == 29
    # fixed charges are billed with the subscription fee only
    assert march.fixed_charges_from_datetime is None
    assert march.fixed_charges_to_datetime is None


def test_semiannual_anniversary_with_monthly_fixed_charges() -> None:
    sub = schedule(
        "semiannual",
        "anniversary",
        subscription_at="2023-08-31",
        pay_in_advance=True,
        bill_fixed_charges_monthly=True,
    )
    first_month = billing_dates(sub, utc("2024-02-29T00:10:00"))
    assert (first_month.from_datetime, first_month.to_datetime) == (
        utc("2024-02-29"),
        utc("2024-08-30" + END),
    )
    assert (first_month.fixed_charges_from_datetime, first_month.fixed_charges_to_datetime) == (
        utc("2024-01-31"),
        utc("2024-02-28" + END),
    )
    assert (first_month.charges_from_datetime, first_month.charges_to_datetime) == (
        utc("2023-08-31"),
        utc("2024-02-28" + END),
    )
    later = billing_dates(sub, utc("2024-04-30T00:10:00"))
    assert (later.fixed_charges_from_datetime, later.fixed_charges_to_datetime) == (
        utc("2024-03-31"),
        utc("2024-04-29" + END),
    )
    assert later.fixed_charges_duration == 30
    assert later.charges_from_datetime is None
    # current usage always has usage bounds
    current = billing_dates(sub, utc("2024-04-30T00:10:00"), current_usage=True)
    assert current.charges_from_datetime == utc("2024-02-29")
    assert current.fixed_charges_from_datetime == utc("2024-04-30")


# --- plan changes and terminations ---------------------------------------------------------------


def test_ex4_upgrade_window_of_the_old_and_new_subscription() -> None:
    old = schedule(
        billing_time="anniversary",
        subscription_at="2023-06-29T12:12:00",
        pay_in_advance=True,
        terminated_at="2023-09-28T05:00:00",
        successor="upgrade",
    )
    dates = invoice_billing_dates(old, utc("2023-09-28T05:00:01"))
    assert (dates.charges_from_datetime, dates.charges_to_datetime) == (
        utc("2023-08-29"),
        utc("2023-09-28T05:00:00"),
    )
    assert dates.charges_duration == 31
    # Ex4 regular invoice of July: usage from the exact start
    july = billing_dates(replace(old, terminated_at=None, successor=None), utc("2023-07-29T00:10:00"))
    assert bounds(july) == expect("2023-07-29", "2023-08-28" + END, "2023-06-29T12:12:00", "2023-07-28" + END)
    new = schedule(
        "yearly",
        "anniversary",
        subscription_at="2023-06-29T12:12:00",
        started_at="2023-09-28T05:00:00",
        pay_in_advance=True,
    )
    first = billing_dates(new, utc("2023-09-28T05:00:01"))
    assert (first.from_datetime, first.to_datetime) == (utc("2023-09-28"), utc("2024-06-28" + END))
    assert first.duration == 366


def test_ex5_downgrade_old_subscription_closes_its_full_period() -> None:
    old = schedule(
        billing_time="anniversary",
        subscription_at="2023-07-19T12:12:00",
        pay_in_advance=False,
        terminated_at="2023-11-19T00:10:00",
        successor="downgrade",
    )
    dates = invoice_billing_dates(old, utc("2023-11-19T00:10:00"))
    assert bounds(dates) == expect("2023-10-19", "2023-11-18" + END)
    new = schedule(
        "yearly",
        "anniversary",
        subscription_at="2023-07-19T12:12:00",
        started_at="2023-11-19T00:10:00",
        pay_in_advance=True,
    )
    first = billing_dates(new, utc("2023-11-19T00:10:00"))
    assert (first.from_datetime, first.to_datetime) == (utc("2023-11-19"), utc("2024-07-18" + END))
    assert first.duration == 366
    # while pending, the downgrade date is the day after the current period
    pending = replace(old, terminated_at=None)
    assert downgrade_plan_date(pending, utc("2023-11-09T10:00:00")) == D("2023-11-19")
    assert end_of_current_period(pending, utc("2023-11-09T10:00:00")) == utc("2023-11-18" + END)


def test_ex7_arrears_upgrade_bills_the_current_period_up_to_the_upgrade() -> None:
    old = schedule(subscription_at="2024-01-01", terminated_at="2024-02-12T06:00:00", successor="upgrade")
    dates = invoice_billing_dates(old, utc("2024-02-12T06:00:01"))
    assert bounds(dates) == expect("2024-02-01", "2024-02-12T06:00:00")
    assert dates.charges_duration == 29


def test_ex25_same_day_upgrade_then_termination() -> None:
    old = schedule(
        subscription_at="2024-04-24T10:00:00", terminated_at="2024-04-24T11:00:00", successor="upgrade"
    )
    dates = invoice_billing_dates(old, utc("2024-04-24T11:00:01"))
    assert bounds(dates) == expect("2024-04-24", "2024-04-24T11:00:00", "2024-04-24T10:00:00")
    new = schedule(
        subscription_at="2024-04-24T10:00:00",
        started_at="2024-04-24T11:00:00",
        terminated_at="2024-04-26T11:00:00",
    )
    last = invoice_billing_dates(new, utc("2024-04-26T11:00:00"))
    assert bounds(last) == expect("2024-04-24", "2024-04-26T11:00:00", "2024-04-24T11:00:00")


def test_ex1_termination_invoice_of_an_arrears_plan() -> None:
    sub = schedule(subscription_at="2022-12-15", terminated_at="2022-12-20T06:00:00")
    dates = invoice_billing_dates(sub, utc("2022-12-20T06:00:00"))
    assert bounds(dates) == expect("2022-12-15", "2022-12-20T06:00:00")
    assert dates.duration == 31


def test_pay_in_advance_termination_bills_the_usage_of_the_partial_period() -> None:
    # Ex15: advance plan from 2025-02-08 terminated 02-21
    sub = schedule(
        subscription_at="2025-02-08T09:00:00", pay_in_advance=True, terminated_at="2025-02-21T10:00:00"
    )
    dates = invoice_billing_dates(sub, utc("2025-02-21T10:00:00"))
    assert (dates.charges_from_datetime, dates.charges_to_datetime) == (
        utc("2025-02-08T09:00:00"),
        utc("2025-02-21T10:00:00"),
    )


def test_ex21_ending_at_a_day_after_the_start() -> None:
    for tz in ("UTC", "Europe/Paris", "Asia/Bangkok", "America/Bogota"):
        sub = schedule(
            billing_time="anniversary",
            subscription_at="2023-09-05",
            terminated_at="2023-09-06T00:15:00",
            tz=tz,
        )
        dates = invoice_billing_dates(sub, utc("2023-09-06T00:15:00"))
        assert dates.from_datetime == day_start_utc(local_date(utc("2023-09-05"), tz), tz), tz
        assert dates.to_datetime == utc("2023-09-06T00:15:00"), tz
        assert dates.duration == 30, tz


def test_ex21_termination_on_a_billing_day_bills_the_whole_previous_period() -> None:
    sub = schedule(
        billing_time="anniversary", subscription_at="2023-09-05", terminated_at="2023-10-05T00:15:00"
    )
    billing_at = utc("2023-10-05T00:15:00")
    candidate = previous_period_on_termination(sub, billing_at)
    assert candidate is not None
    assert bounds(candidate) == expect("2023-09-05", "2023-10-04" + END)
    assert invoice_billing_dates(sub, billing_at) == candidate
    # once a recurring invoice covered that period, only the partial day is billed
    partial = invoice_billing_dates(sub, billing_at, already_billed=lambda dates: dates == candidate)
    assert bounds(partial) == expect("2023-10-05", "2023-10-05T00:15:00")


def test_termination_boundary_rule_only_applies_right_after_a_period_end() -> None:
    base = dict(billing_time="anniversary", subscription_at="2023-09-05")
    mid_period = schedule(terminated_at="2023-10-12T08:00:00", **base)  # type: ignore[arg-type]
    assert previous_period_on_termination(mid_period, utc("2023-10-12T08:00:00")) is None
    day_after = schedule(terminated_at="2023-10-06T00:15:00", **base)  # type: ignore[arg-type]
    assert previous_period_on_termination(day_after, utc("2023-10-06T00:15:00")) is None
    start_day = schedule(terminated_at="2023-09-05T18:00:00", **base)  # type: ignore[arg-type]
    assert previous_period_on_termination(start_day, utc("2023-09-05T18:00:00")) is None
    upgraded = schedule(terminated_at="2023-10-05T00:15:00", successor="upgrade", **base)  # type: ignore[arg-type]
    assert previous_period_on_termination(upgraded, utc("2023-10-05T00:15:00")) is None
    active = schedule(**base)  # type: ignore[arg-type]
    assert previous_period_on_termination(active, utc("2023-10-05T00:15:00")) is None


def test_timezone_change_continues_right_after_the_previous_usage_window() -> None:
    # previous invoice closed January in New York; the customer moved to Los Angeles
    sub = schedule(subscription_at="2021-02-02", tz="America/Los_Angeles")
    previous_to = utc("2022-02-01T04:59:59.999999")
    dates = billing_dates(
        sub, utc("2022-03-02"), previous_charges_to=previous_to, previous_fixed_charges_to=previous_to
    )
    assert dates.charges_from_datetime == utc("2022-02-01T05:00:00")
    assert dates.fixed_charges_from_datetime == utc("2022-02-01T05:00:00")
    assert dates.from_datetime == utc("2022-02-01T08:00:00")
    # a previous bound farther than 26 hours away belongs to another period: ignored
    far = billing_dates(sub, utc("2022-03-02"), previous_charges_to=utc("2021-12-31" + END))
    assert far.charges_from_datetime == utc("2022-02-01T08:00:00")


def test_previous_beginning_of_period() -> None:
    sub = schedule(billing_time="anniversary", subscription_at="2024-01-31")
    assert previous_beginning_of_period(sub, utc("2024-04-30T00:10:00")) == utc("2024-03-31")
    assert previous_beginning_of_period(sub, utc("2024-04-30T00:10:00"), current_period=True) == utc(
        "2024-04-30"
    )


def test_schedule_validates_its_values() -> None:
    with pytest.raises(ValueError):
        schedule("daily")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Schedule("monthly", "calendar", False, "UTC", datetime(2024, 1, 1), utc("2024-01-01"))


# --- properties -------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"]


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    subscription_at = draw(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC))
    )
    return Schedule(
        interval=draw(st.sampled_from(INTERVALS)),
        billing_time=draw(st.sampled_from(BILLING_TIMES)),
        pay_in_advance=draw(st.booleans()),
        timezone=draw(st.sampled_from(ZONES)),
        subscription_at=subscription_at,
        started_at=subscription_at,
        bill_charges_monthly=draw(st.booleans()),
    )


def _billing_instants(sub: Schedule, count: int, minutes: int) -> list[datetime]:
    """The first ``count`` billing days after the start, at ``minutes`` past local midnight."""
    cadence = sub.charges_interval if sub.charges_interval == "monthly" else sub.interval
    first = local_date(sub.started_at, sub.timezone)
    periods = islice(iter_periods(first, cadence, sub.billing_time, sub.anniversary_date), 1, count + 1)
    return [
        min(
            day_start_utc(p.start, sub.timezone) + timedelta(minutes=minutes),
            day_end_utc(p.start, sub.timezone),
        )
        for p in periods
    ]


@settings(max_examples=200, deadline=None)
@given(sub=schedules(), minutes=st.integers(min_value=0, max_value=23 * 60))
def test_recurring_usage_windows_tile_time(sub: Schedule, minutes: int) -> None:
    instants = _billing_instants(sub, 8, minutes)
    windows = [billing_dates(sub, at) for at in instants]
    for dates in windows:
        assert dates.charges_from_datetime is not None and dates.charges_to_datetime is not None
        assert dates.charges_from_datetime <= dates.charges_to_datetime
        period = dates.charges_period
        assert dates.charges_duration == period.days
        assert dates.charges_to_datetime == day_end_utc(period.end, sub.timezone)
    assert windows[0].charges_from_datetime == sub.started_at
    for current, following in pairwise(windows):
        assert current.charges_to_datetime is not None and following.charges_from_datetime is not None
        assert current.charges_to_datetime + timedelta(microseconds=1) == following.charges_from_datetime


@settings(max_examples=200, deadline=None)
@given(sub=schedules(), minutes=st.integers(min_value=0, max_value=23 * 60))
def test_subscription_fee_periods_tile_time(sub: Schedule, minutes: int) -> None:
    sub = replace(sub, bill_charges_monthly=False)
    windows = [billing_dates(sub, at) for at in _billing_instants(sub, 6, minutes)]
    for dates in windows:
        billed = dates.fee_period
        assert dates.duration == billed.days
        # in advance: the period opening on the billing day; in arrears: the one closing the day before
        if sub.pay_in_advance:
            assert billed.start == dates.billing_date
        else:
            assert billed.end + timedelta(days=1) == dates.billing_date
    for current, following in pairwise(windows):
        assert current.to_datetime + timedelta(microseconds=1) == following.from_datetime


@settings(max_examples=300, deadline=None)
@given(sub=schedules(), after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)))
def test_termination_invoice_stops_at_the_termination(sub: Schedule, after: timedelta) -> None:
    terminated = replace(sub, terminated_at=sub.started_at + after)
    assert terminated.terminated_at is not None
    dates = invoice_billing_dates(terminated, terminated.terminated_at)
    if dates.charges_to_datetime is not None and dates.charges_from_datetime is not None:
        assert dates.charges_from_datetime <= dates.charges_to_datetime <= terminated.terminated_at
    assert dates.from_datetime <= dates.to_datetime
    if not sub.pay_in_advance:
        # the arrears fee stops at the termination too (an advance fee is never billed again, and
        # on a period boundary Lago keeps the next period as its nominal fee bounds)
        assert dates.to_datetime <= terminated.terminated_at or dates.to_datetime == terminated.started_at


@settings(max_examples=200, deadline=None)
@given(
    sub=schedules(),
    after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
    zone=st.sampled_from(ZONES),
    current_usage=st.booleans(),
)
def test_remembered_billing_dates_are_the_computed_ones(
    sub: Schedule, after: timedelta, zone: str, current_usage: bool
) -> None:
    """``billing_dates`` answers from a cache: for any schedule and instant (given in any zone)
    it is what the dates service computes, a second time too."""
    from zoneinfo import ZoneInfo

    from billow.subscriptions.periods.dates import compute_billing_dates

    at = sub.started_at + after
    expected = compute_billing_dates(sub, at, current_usage=current_usage)
    assert billing_dates(sub, at, current_usage=current_usage) == expected
    assert billing_dates(sub, at.astimezone(ZoneInfo(zone)), current_usage=current_usage) == expected
    assert billing_dates(sub, at, current_usage=not current_usage) == compute_billing_dates(
        sub, at, current_usage=not current_usage
    )
