"""Calendar and anniversary billing for every interval, in advance and in arrears, month ends and
customers far from UTC: the day a subscription bills and what its invoice covers.

The clock jumps straight to the hours that matter (one tick each), so a year costs two ticks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.billing.helpers import customer, drain, invoices, plan, start_clock, subscribe, tick_at

START = datetime(2024, 2, 10, 9, 0, tzinfo=UTC)  # a Saturday

# interval, plan amount, calendar billing day, anniversary billing day, calendar first-period days
CASES: list[tuple[str, int, datetime, datetime, tuple[int, int]]] = [
    ("weekly", 700, datetime(2024, 2, 12, tzinfo=UTC), datetime(2024, 2, 17, tzinfo=UTC), (2, 7)),
    ("monthly", 2900, datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 10, tzinfo=UTC), (20, 29)),
    ("quarterly", 9100, datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 10, tzinfo=UTC), (51, 91)),
    ("semiannual", 18200, datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 8, 10, tzinfo=UTC), (142, 182)),
    ("yearly", 36600, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 10, tzinfo=UTC), (326, 366)),
]


def _setup(api: Any, runtime: Any, interval: str, amount: int, **plan_fields: Any) -> None:
    start_clock(runtime, START)
    customer(api)
    plan(api, interval=interval, amount_cents=amount, **plan_fields)


@pytest.mark.parametrize(("interval", "amount", "calendar_day", "_anniv", "days"), CASES)
def test_calendar_in_arrears_prorates_the_first_period(
    api, runtime, interval, amount, calendar_day, _anniv, days
):
    _setup(api, runtime, interval, amount)
    subscribe(api)
    drain(api, runtime)
    assert invoices(api) == []
    tick_at(runtime, calendar_day - timedelta(hours=1))
    assert invoices(api) == []
    tick_at(runtime, calendar_day)
    [invoice] = invoices(api)
    billed, total = days
    assert invoice["fees_amount_cents"] == amount * billed // total
    period = invoice["billing_periods"][0]
    assert period["invoicing_reason"] == "subscription_periodic"
    assert period["subscription_from_datetime"] == "2024-02-10T00:00:00Z"
    assert period["charges_from_datetime"] == "2024-02-10T09:00:00Z"
    assert period["subscription_to_datetime"] == (calendar_day - timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert invoice["issuing_date"] == calendar_day.date().isoformat()


@pytest.mark.parametrize(("interval", "amount", "calendar_day", "_anniv", "days"), CASES)
def test_calendar_in_advance_prorates_at_start_then_bills_full_periods(
    api, runtime, interval, amount, calendar_day, _anniv, days
):
    _setup(api, runtime, interval, amount, pay_in_advance=True)
    subscribe(api)
    drain(api, runtime)
    [start] = invoices(api)
    billed, total = days
    assert start["fees_amount_cents"] == amount * billed // total
    tick_at(runtime, calendar_day)
    renewal = invoices(api)[-1]
    assert renewal["fees_amount_cents"] == amount
    period = renewal["billing_periods"][0]
    assert period["subscription_from_datetime"] == calendar_day.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert period["charges_from_datetime"] == "2024-02-10T09:00:00Z"
    assert period["charges_to_datetime"] == (calendar_day - timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@pytest.mark.parametrize(("interval", "amount", "_cal", "anniversary_day", "_days"), CASES)
def test_anniversary_in_arrears_bills_a_full_first_period(
    api, runtime, interval, amount, _cal, anniversary_day, _days
):
    _setup(api, runtime, interval, amount)
    subscribe(api, billing_time="anniversary")
    drain(api, runtime)
    tick_at(runtime, anniversary_day - timedelta(hours=1))
    assert invoices(api) == []
    tick_at(runtime, anniversary_day)
    [invoice] = invoices(api)
    assert invoice["fees_amount_cents"] == amount
    period = invoice["billing_periods"][0]
    assert period["subscription_from_datetime"] == "2024-02-10T00:00:00Z"
    assert period["subscription_to_datetime"] == (anniversary_day - timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@pytest.mark.parametrize(("interval", "amount", "_cal", "anniversary_day", "_days"), CASES)
def test_anniversary_in_advance_bills_full_periods(
    api, runtime, interval, amount, _cal, anniversary_day, _days
):
    _setup(api, runtime, interval, amount, pay_in_advance=True)
    subscribe(api, billing_time="anniversary")
    drain(api, runtime)
    [start] = invoices(api)
    assert start["fees_amount_cents"] == amount
    tick_at(runtime, anniversary_day)
    renewal = invoices(api)[-1]
    assert renewal["fees_amount_cents"] == amount
    assert renewal["billing_periods"][0]["subscription_from_datetime"] == anniversary_day.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_yearly_anniversary_on_february_29_bills_on_the_28th(api, runtime):
    start_clock(runtime, datetime(2024, 2, 29, 9, tzinfo=UTC))
    customer(api)
    plan(api, interval="yearly", amount_cents=36500)
    subscribe(api, billing_time="anniversary")
    drain(api, runtime)
    tick_at(runtime, datetime(2025, 2, 28, tzinfo=UTC))
    [invoice] = invoices(api)
    assert invoice["fees_amount_cents"] == 36500
    assert invoice["billing_periods"][0]["subscription_to_datetime"] == "2025-02-27T23:59:59Z"


def test_anniversary_on_the_31st_bills_on_short_months_last_day(api, runtime):
    start_clock(runtime, datetime(2023, 12, 31, 9, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=3100, pay_in_advance=True)
    subscribe(api, billing_time="anniversary")
    drain(api, runtime)
    for day in (
        datetime(2024, 1, 31, tzinfo=UTC),
        datetime(2024, 2, 29, tzinfo=UTC),
        datetime(2024, 3, 31, tzinfo=UTC),
    ):
        tick_at(runtime, day)
    days = [i["issuing_date"] for i in invoices(api)]
    assert days == ["2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"]
    periods = [i["billing_periods"][0] for i in invoices(api)[1:]]
    assert [p["subscription_from_datetime"][:10] for p in periods] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
    ]
    assert [p["subscription_to_datetime"][:10] for p in periods] == ["2024-02-28", "2024-03-30", "2024-04-29"]


@pytest.mark.parametrize(
    ("timezone", "too_early", "billing_hour", "from_utc", "to_utc"),
    [
        (
            "America/Los_Angeles",
            datetime(2024, 2, 1, 7, tzinfo=UTC),
            datetime(2024, 2, 1, 8, tzinfo=UTC),
            "2024-01-10T08:00:00Z",
            "2024-02-01T07:59:59Z",
        ),
        (
            "Asia/Tokyo",
            datetime(2024, 1, 31, 14, tzinfo=UTC),
            datetime(2024, 1, 31, 15, tzinfo=UTC),
            "2024-01-09T15:00:00Z",
            "2024-01-31T14:59:59Z",
        ),
    ],
)
def test_customer_far_from_utc_is_billed_on_its_local_day(
    api, runtime, timezone, too_early, billing_hour, from_utc, to_utc
):
    start_clock(runtime, datetime(2024, 1, 10, 12, tzinfo=UTC))
    customer(api, timezone=timezone)
    plan(api, amount_cents=3100)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, too_early)
    assert invoices(api) == []
    tick_at(runtime, billing_hour)
    [invoice] = invoices(api)
    assert invoice["issuing_date"] == "2024-02-01"
    period = invoice["billing_periods"][0]
    assert (period["subscription_from_datetime"], period["subscription_to_datetime"]) == (from_utc, to_utc)
    # Local January 10 → 31: 22 of 31 days.
    assert invoice["fees_amount_cents"] == 2200


def test_no_periodic_billing_on_the_start_day(api, runtime):
    start_clock(runtime, datetime(2024, 3, 1, 0, 30, tzinfo=UTC))
    customer(api)
    plan(api, amount_cents=3100)
    subscribe(api)
    drain(api, runtime)
    tick_at(runtime, datetime(2024, 3, 1, 1, tzinfo=UTC))
    assert invoices(api) == []
