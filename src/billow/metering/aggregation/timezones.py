"""UTC-offset segments of a timezone over a window (pure): lets SQL compute local calendar dates
with plain arithmetic on databases without timezone support (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_STEP = timedelta(hours=6)


def _offset(tz: ZoneInfo, moment: datetime) -> int:
    delta = moment.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


@lru_cache(maxsize=256)
def offset_segments(tz_name: str, start: datetime, end: datetime) -> tuple[tuple[datetime | None, int], ...]:
    """``((until, offset_seconds), …)``: ``offset`` applies to instants before ``until`` (UTC),
    the last one (``until=None``) to every later instant. Instants before ``start`` take the
    first offset, after ``end`` the last (callers clamp to the window)."""
    tz = ZoneInfo(tz_name)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    segments: list[tuple[datetime | None, int]] = []
    current = _offset(tz, start)
    moment = start
    while moment < end:
        nxt = min(moment + _STEP, end)
        if _offset(tz, nxt) != current:
            lo, hi = moment, nxt  # the change happens in (lo, hi]: bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(tz, mid) == current:
                    lo = mid
                else:
                    hi = mid
            boundary = hi.replace(microsecond=0)
            if _offset(tz, boundary) == current:
                boundary += timedelta(seconds=1)
            segments.append((boundary, current))
            current = _offset(tz, boundary)
        moment = nxt
    segments.append((None, current))
    return tuple(segments)
