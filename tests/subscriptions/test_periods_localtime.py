"""Local days as UTC instants and the proration day count (billing.md §3.2, §3.6)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billow.subscriptions.periods import day_count, day_end_utc, day_start_utc, local_date, start_of_local_day

D = date.fromisoformat


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def at(text: str, tz: str) -> datetime:
    """A wall-clock time in ``tz``."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


@pytest.mark.parametrize(
    ("day", "tz", "start", "end"),
    [
        ("2024-03-01", "UTC", "2024-03-01T00:00:00", "2024-03-01T23:59:59.999999"),
        ("2022-01-01", "America/New_York", "2022-01-01T05:00:00", "2022-01-02T04:59:59.999999"),
        ("2024-03-01", "Asia/Tokyo", "2024-02-29T15:00:00", "2024-03-01T14:59:59.999999"),
        ("2024-03-01", "America/Los_Angeles", "2024-03-01T08:00:00", "2024-03-02T07:59:59.999999"),
        # DST days are 23 h and 25 h long
        ("2024-03-31", "Europe/Paris", "2024-03-30T23:00:00", "2024-03-31T21:59:59.999999"),
        ("2024-10-27", "Europe/Paris", "2024-10-26T22:00:00", "2024-10-27T22:59:59.999999"),
        ("2024-03-10", "America/New_York", "2024-03-10T05:00:00", "2024-03-11T03:59:59.999999"),
        ("2024-11-03", "America/New_York", "2024-11-03T04:00:00", "2024-11-04T04:59:59.999999"),
        # a midnight that does not exist: Santiago jumps from 00:00 to 01:00
        ("2022-09-11", "America/Santiago", "2022-09-11T04:00:00", "2022-09-12T02:59:59.999999"),
    ],
)
def test_local_day_bounds(day: str, tz: str, start: str, end: str) -> None:
    assert day_start_utc(D(day), tz) == utc(start)
    assert day_end_utc(D(day), tz) == utc(end)


def test_local_date_and_start_of_local_day() -> None:
    moment = utc("2023-06-16T05:00:00")
    assert local_date(moment, "America/Denver") == D("2023-06-15")
    assert local_date(moment, "America/Halifax") == D("2023-06-16")
    assert local_date(utc("2023-06-16T20:00:00"), "Asia/Karachi") == D("2023-06-17")
    assert start_of_local_day(moment, "America/Denver") == utc("2023-06-15T06:00:00")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        local_date(datetime(2024, 1, 1), "UTC")
    with pytest.raises(ValueError):
        day_count(datetime(2024, 1, 1), utc("2024-01-02T00:00:00"), "UTC")


@pytest.mark.parametrize(
    ("start", "end", "tz", "days"),
    [
        # Ex1: 12-15 00:00 → 12-20 06:00 counts day 20 as used
        ("2022-12-15T00:00:00+00:00", "2022-12-20T06:00:00+00:00", "UTC", 6),
        # a whole local month, inclusive
        ("2024-02-01T00:00:00+00:00", "2024-02-29T23:59:59.999999+00:00", "UTC", 29),
        # a `to` exactly at local midnight gains one second, so that day counts
        ("2024-04-24T00:00:00+00:00", "2024-04-26T00:00:00+00:00", "UTC", 3),
        ("2022-12-01T00:00:00+00:00", "2022-12-18T00:00:00+00:00", "UTC", 18),  # Ex16
        # Ex25
        ("2024-04-24T00:00:00+00:00", "2024-04-26T11:00:00+00:00", "UTC", 3),
        # Ex21: 09-05 00:00 → 09-06 00:15 is two days
        ("2023-09-05T00:00:00+00:00", "2023-09-06T00:15:00+00:00", "UTC", 2),
        # Ex20: from the exact trial end
        ("2024-03-15T12:12:00+00:00", "2024-03-31T23:59:59.999999+00:00", "UTC", 17),
        ("2024-03-11T21:00:00+00:00", "2024-03-31T23:59:59.999999+00:00", "UTC", 21),
        # Ex4 / Ex5 yearly upgrade / downgrade windows
        ("2023-09-28T00:00:00+00:00", "2024-06-28T23:59:59.999999+00:00", "UTC", 275),
        ("2023-11-19T00:00:00+00:00", "2024-07-18T23:59:59.999999+00:00", "UTC", 243),
    ],
)
def test_day_count_vectors(start: str, end: str, tz: str, days: int) -> None:
    assert day_count(datetime.fromisoformat(start), datetime.fromisoformat(end), tz) == days


def test_day_count_across_paris_dst() -> None:
    paris = "Europe/Paris"
    # October (25 h day): 31 days + 1 h of elapsed time is still 31 local days
    october = (day_start_utc(D("2024-10-01"), paris), day_end_utc(D("2024-10-31"), paris))
    assert october[1] - october[0] == timedelta(days=31, hours=1) - timedelta(microseconds=1)
    assert day_count(*october, paris) == 31
    # March (23 h day)
    march = (day_start_utc(D("2024-03-01"), paris), day_end_utc(D("2024-03-31"), paris))
    assert day_count(*march, paris) == 31
    # midnight to midnight over the spring change: 23 h elapsed, two local days used
    assert day_count(at("2024-03-31T00:00:00", paris), at("2024-04-01T00:00:00", paris), paris) == 2
    # without the offset correction a 25 h day would count two days
    assert day_count(at("2024-10-27T00:00:00", paris), at("2024-10-27T23:30:00", paris), paris) == 1
    assert day_count(at("2024-10-26T12:00:00", paris), at("2024-10-27T12:00:00", paris), paris) == 1


def test_day_count_across_new_york_dst() -> None:
    ny = "America/New_York"
    november = (day_start_utc(D("2024-11-01"), ny), day_end_utc(D("2024-11-30"), ny))
    assert day_count(*november, ny) == 30
    march = (day_start_utc(D("2024-03-01"), ny), day_end_utc(D("2024-03-31"), ny))
    assert day_count(*march, ny) == 31
    assert day_count(at("2024-03-10T00:00:00", ny), at("2024-03-11T00:00:00", ny), ny) == 2
    assert day_count(at("2024-11-03T00:00:00", ny), at("2024-11-03T23:00:00", ny), ny) == 1
    # termination mid-day on the fall-back day: days 1..3 used
    assert day_count(day_start_utc(D("2024-11-01"), ny), at("2024-11-03T06:00:00", ny), ny) == 3


def test_day_count_in_the_customer_timezone() -> None:
    # Ex2 (Los Angeles): created 2023-02-08T05:00Z, i.e. 02-07 local → 22 days of February
    la = "America/Los_Angeles"
    start = start_of_local_day(utc("2023-02-08T05:00:00"), la)
    assert day_count(start, day_end_utc(D("2023-02-28"), la), la) == 22
    # the same instants counted in UTC give one day less
    utc_start = start_of_local_day(utc("2023-02-08T05:00:00"), "UTC")
    assert day_count(utc_start, day_end_utc(D("2023-02-28"), "UTC"), "UTC") == 21


# --- properties -----------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Kolkata",
]


@settings(max_examples=400)
@given(
    tz=st.sampled_from(ZONES),
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    length=st.integers(min_value=0, max_value=400),
)
def test_whole_local_days_count_inclusively(tz: str, first: date, length: int) -> None:
    last = first + timedelta(days=length)
    start, end = day_start_utc(first, tz), day_end_utc(last, tz)
    assert local_date(start, tz) == first
    assert local_date(end, tz) == last
    assert day_count(start, end, tz) == length + 1
    # a `to` exactly at the next local midnight counts that day too (unless the first day began
    # late because its midnight did not exist: Lago's formula then sees 23 h + 1 s)
    to_midnight = day_count(start, day_start_utc(last + timedelta(days=1), tz), tz)
    if start.astimezone(ZoneInfo(tz)).time() == time(0):
        assert to_midnight == length + 2
    else:
        assert to_midnight in (length + 1, length + 2)
    # consecutive days tile time to the microsecond
    assert end + timedelta(microseconds=1) == day_start_utc(last + timedelta(days=1), tz)
