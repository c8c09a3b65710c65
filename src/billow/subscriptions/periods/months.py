"""Month arithmetic on plain dates, with the day clamped to the month's length."""

from __future__ import annotations

import calendar
from datetime import date


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def is_last_day_of_month(day: date) -> bool:
    return day.day == days_in_month(day.year, day.month)


def month_index(day: date) -> int:
    """Months since year 0: consecutive months have consecutive indexes."""
    return day.year * 12 + day.month - 1


def day_in_month(index: int, day_of_month: int) -> date:
    """``day_of_month`` in the month ``index``, clamped to that month's last day (31 → 30/29/28)."""
    year, month0 = divmod(index, 12)
    month = month0 + 1
    return date(year, month, min(day_of_month, days_in_month(year, month)))


def shift_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` months, the day clamped (Jan 31 + 1 month → Feb 28/29)."""
    return day_in_month(month_index(day) + months, day.day)
