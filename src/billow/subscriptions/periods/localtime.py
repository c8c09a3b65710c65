"""Local days in a customer's timezone as UTC instants, and the proration day count (§3.6).

Precision: boundaries are microseconds. A day D in zone Z spans ``day_start_utc(D, Z)`` (the first
instant of D, normally 00:00:00 local) to ``day_end_utc(D, Z)`` = the next day's start minus one
microsecond (normally 23:59:59.999999 local). Consecutive days therefore tile time exactly:
``day_end_utc(D) + 1µs == day_start_utc(D + 1)``, also across DST changes (a midnight that does not
exist starts the day at the first valid local time).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ONE_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400 * 1_000_000


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``ZoneInfo`` caches instances)."""
    return ZoneInfo(name)


def as_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; naive datetimes are refused (every stored time is aware UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime: {moment.isoformat()}")
    return moment.astimezone(UTC)


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date of ``moment`` in zone ``tz``."""
    return as_utc(moment).astimezone(zone(tz)).date()


def day_start_utc(day: date, tz: str) -> datetime:
    """First instant of local day ``day`` in ``tz``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def day_end_utc(day: date, tz: str) -> datetime:
    """Last microsecond of local day ``day`` in ``tz`` (23:59:59.999999 local), in UTC."""
    return day_start_utc(day + timedelta(days=1), tz) - ONE_MICROSECOND


def start_of_local_day(moment: datetime, tz: str) -> datetime:
    """Start (UTC) of the local day that contains ``moment``."""
    return day_start_utc(local_date(moment, tz), tz)


def day_count(from_datetime: datetime, to_datetime: datetime, tz: str) -> int:
    """Days between two instants as Lago counts them for proration (§3.6).

    A ``to`` exactly at local midnight is moved one second later (so that day counts), the
    UTC-offset change between both ends is removed (a DST day is still one day), and partial
    days are rounded up. ``D1 00:00 → D2 23:59:59.999999`` gives ``D2 − D1 + 1``; a
    termination at ``D 06:00`` counts day D as used.
    """
    start = as_utc(from_datetime)
    end = as_utc(to_datetime)
    z = zone(tz)
    if end.astimezone(z).time() == time(0):
        end += timedelta(seconds=1)
    start_offset = start.astimezone(z).utcoffset()
    end_offset = end.astimezone(z).utcoffset()
    assert start_offset is not None and end_offset is not None
    elapsed_us = (end - start - (start_offset - end_offset)) // ONE_MICROSECOND
    return -(-elapsed_us // _DAY_US)
