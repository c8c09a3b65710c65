"""The only place that reads the wall clock. Everything else receives a ``Clock``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Source of the current time (always timezone-aware UTC)."""

    @property
    def is_manual(self) -> bool: ...

    def now(self) -> datetime: ...


class SystemClock:
    is_manual = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class ClockMovedBackwards(ValueError):
    pass


class ManualClock:
    """A clock that stands still until it is moved forward (the test clock)."""

    is_manual = True

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        when = ensure_utc(when)
        with self._lock:
            if when < self._now:
                raise ClockMovedBackwards(f"{when.isoformat()} is before {self._now.isoformat()}")
            self._now = when


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
