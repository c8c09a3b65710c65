"""The fee properties' instants: ``Z`` for UTC (remembered), other zones as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from billow.billing.boundaries import _iso


def test_instants_are_formatted_for_their_own_zone_even_when_equal() -> None:
    utc = datetime(2024, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    assert utc == paris
    assert _iso(utc) == "2024-01-31T23:59:59.999999Z"
    assert _iso(paris) == "2024-02-01T00:59:59.999999+01:00"
    assert _iso(utc) == "2024-01-31T23:59:59.999999Z"  # a second time, from the cache
    assert _iso(None) is None
