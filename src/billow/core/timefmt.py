"""Lago's datetime renderings: ISO-8601 UTC with a ``Z`` suffix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime


def iso_z(value: datetime | None) -> str | None:
    """Seconds precision: ``2022-05-02T13:04:09Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_z_ms(value: datetime | None) -> str | None:
    """Millisecond precision (event timestamps): ``2022-05-02T13:04:09.123Z``."""
    if value is None:
        return None
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_iso_datetime(text: str) -> datetime:
    """Parse ISO-8601; naive values are UTC. Raises ValueError."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def instants_each(now: datetime | Sequence[datetime], count: int) -> list[datetime]:
    """``now`` for each of ``count`` objects: one instant for all, or each one's (in order)."""
    instants = [now] * count if isinstance(now, datetime) else list(now)
    if len(instants) != count:
        raise ValueError(f"{len(instants)} instants for {count} objects")
    return instants
